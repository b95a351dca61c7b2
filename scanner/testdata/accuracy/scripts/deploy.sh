#!/bin/sh
export REGISTRY_PASSWORD="Reg-eA6AOSRwLqgotV"
export REGISTRY_USER=deployer
export DB_PASSWORD="$(cat /run/secrets/db-password)"
kubectl apply -f manifests/
