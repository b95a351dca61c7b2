#!/usr/bin/env bash
set -euo pipefail
export VAULT_ADDR=https://vault.acme.io:8200
export VAULT_TOKEN=hvs.CAESIWRRoQFFnHJ2fUOnH-R6Kqaqv8QsTjfr1V7lEKj5QTz0Ggcnvh14-jkLuJQ_L6PYIISFRmvY5XwjlhoCmy4yJvr
vault secrets enable -path=secret kv-v2 || true
vault auth enable kubernetes || true
vault write auth/kubernetes/config kubernetes_host="https://$KUBERNETES_PORT_443_TCP_ADDR:443"
vault kv put secret/orders/db username=orders password="$(openssl rand -base64 24)"
ROLE_ID=$(vault read -field=role_id auth/approle/role/ci/role-id)
SECRET_ID="80697dca-ae78-4295-b9e2-1fd05d91c7c6"
echo "role $ROLE_ID ready"
