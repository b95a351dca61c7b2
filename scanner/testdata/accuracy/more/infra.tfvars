region      = "eu-west-1"
db_password = "Tf-Var-Passw0rd"
db_username = "admin"
