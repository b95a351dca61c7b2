// Package helm compares a Helm render by Latchkey with upstream Helm's own
// code path on the same inputs: bitnami's apache chart, whose dependency
// (bitnami's common library) is served by a real chart repository on
// loopback, at the version Chart.lock pins.
//
// Latchkey: the controller's path, the dependency fetched by
// render/chartrepo (cached by digest after the first render) and the chart
// rendered in a sandboxed worker process (render/sandbox). Helm: what
// `helm dependency build` then `helm template` run, through the helm
// module of go.mod (pkg/downloader, then action.Install client-only, as
// cmd/helm's template command does): every render downloads the
// dependency into charts/ and loads the chart from disk.
//
//	go test -run TestHelmSideBySide -v ./bench/helm/
//
// The objects are compared after sorting (Helm orders by kind, Latchkey
// keeps Helm's order too; the comparison does not depend on it).
package helm
