//go:build tools

// Package tools pins the etcd server module; `go build go.etcd.io/etcd/server/v3`
// from this directory builds the etcd binary kube-apiserver stores its state in.
package tools

import _ "go.etcd.io/etcd/server/v3"
