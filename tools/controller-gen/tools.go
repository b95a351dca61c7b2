//go:build tools

// Package tools pins controller-tools; `go build
// sigs.k8s.io/controller-tools/cmd/controller-gen` from this directory builds
// the generator of the Sync API's deepcopy functions and CRD (make generate).
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
