let Config = { user : Text, password : Text }
in  { user = "orders", password = env:DB_PASSWORD as Text } : Config
