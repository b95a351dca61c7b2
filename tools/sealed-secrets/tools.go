//go:build tools

// Package tools pins the upstream sealed-secrets module, whose kubeseal and
// controller binaries the interoperability tests run against.
package tools

import (
	_ "github.com/bitnami-labs/sealed-secrets/cmd/controller"
	_ "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal"
)
