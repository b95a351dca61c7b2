// Package config reads Latchkey's configuration: flags, environment and
// files, validated into typed structs with errors that name the setting at
// fault. Secrets in it (tokens, secret IDs) are of type Sensitive, which
// never prints.
package config
