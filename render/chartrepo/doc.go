// Package chartrepo fetches Helm charts from chart repositories (an
// index.yaml and .tgz files over HTTP) and OCI registries (Helm's
// registry client), for a chart's dependencies that are
// not vendored in its charts/ directory and for a Sync whose chart is not
// in Git (spec.source.helm).
//
// Repository content is attacker input: every host is checked against the
// admin's allowlist (render.Hosts) before any request, including the host
// a download URL of the index points to; the index and each archive are
// read up to a bound; an archive whose sha256 differs from the index's
// digest (or the pinned one) is refused; archives are cached in memory by
// their digest. Archives are never unpacked here: the render worker, under
// its limits, does that.
package chartrepo
