variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "aws_secret_key" {
  type      = string
  sensitive = true
}

variable "api_key" {
  description = "API key for the payments provider"
  type        = string
  sensitive   = true
}

variable "db_password" {
  type      = string
  default   = "S3cure-tA3vYr208o"
  sensitive = true
}

variable "token_lifetime" {
  type    = number
  default = 3600
}

variable "admin_password" {
  type    = string
  default = ""
}
