data "vault_generic_secret" "grafana" {
  path = "secret/prod/grafana"
}

resource "vault_approle_auth_backend_role_secret_id" "ci" {
  backend   = "approle"
  role_name = "ci"
}

resource "vault_generic_secret" "stripe" {
  path      = "secret/prod/stripe"
  data_json = <<EOT
{
  "secret_key": "sk_live_sQUETY6w3D0DEJ5UpGEpcuG1"
}
EOT
}

output "db_password" {
  value     = aws_db_instance.orders.password
  sensitive = true
}
