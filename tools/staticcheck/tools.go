//go:build tools

// Package tools pins staticcheck, run by `make lint`.
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
