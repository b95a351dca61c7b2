terraform {
  required_version = ">= 1.5"
  backend "s3" {
    bucket = "acme-tf-state"
    key    = "prod/network.tfstate"
    region = "eu-west-1"
  }
}

provider "aws" {
  region     = var.region
  access_key = var.aws_access_key
  secret_key = var.aws_secret_key
}

provider "github" {
  token = "ghp_9JyG7sJJpVTTFBFmlzUpJii4oOAqMZbINNPY"
  owner = "acme"
}

resource "aws_db_instance" "orders" {
  identifier          = "orders-prod"
  engine              = "postgres"
  username            = "orders_admin"
  password            = "Vq7!mR2xLp9#eT4w"
  skip_final_snapshot = true
}

resource "aws_db_instance" "billing" {
  identifier = "billing-prod"
  username   = "billing"
  password   = random_password.billing.result
}

resource "random_password" "billing" {
  length  = 24
  special = true
}

resource "aws_secretsmanager_secret_version" "api" {
  secret_id     = aws_secretsmanager_secret.api.id
  secret_string = jsonencode({ api_key = var.api_key })
}

resource "kubernetes_secret" "grafana" {
  metadata {
    name = "grafana-admin"
  }
  data = {
    admin-password = data.vault_generic_secret.grafana.data["password"]
  }
}

resource "datadog_monitor" "cpu" {
  name    = "CPU high"
  message = "Check the password rotation runbook"
}

resource "azurerm_storage_account" "logs" {
  name                     = "acmelogs"
  account_tier             = "Standard"
  account_replication_type = "LRS"
}

locals {
  db_password_ssm_path = "/prod/orders/db_password"
  token_ttl            = "24h"
  slack_webhook        = "https://hooks.slack.com/services/T3mpnzepf/BQZI0ozuR/nSpQpDq1oG7yn8GkKGBOXHqg"
}
