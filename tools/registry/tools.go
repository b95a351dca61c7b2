//go:build tools

// Package tools pins the distribution registry (the CNCF reference OCI
// registry) that the chart source tests push Helm charts to.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
