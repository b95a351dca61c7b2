region       = "eu-west-1"
cluster_name = "prod-eu"
node_count   = 6
datadog_api_key = "3791a17f9a6ec0126f66b098c623421e"
github_app_id   = 381245
github_app_installation_id = 41877732
grafana_cloud_token = "glc_eyJvIjoiOTEyMzQ1IiwibiI6InN0YWNrLTc4LXByb2QiLCJrIjoid3RPT0FRTzhLd0Q5SHp4YjRWbkRFNzVzIiwibSI6eyJyIjoicHJvZC1ldS13ZXN0LTIifX0="
