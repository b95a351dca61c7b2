package render

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrHostRefused is wrapped by the error of a render that would fetch from
// a host the admin did not allow (a chart dependency's repository, a chart
// source): nothing is fetched.
var ErrHostRefused = errors.New("remote host not allowed")

// Hosts is the allowlist of hosts a render may fetch from: Kustomize remote
// bases and files, Helm chart repositories and OCI registries. An entry is
// a host name ("charts.bitnami.com"), a host and port ("127.0.0.1:8080"),
// or "*" for any host. Empty, nothing remote is fetched.
type Hosts []string

// Allows says whether host (as in a URL: "name" or "name:port") may be
// fetched from.
func (h Hosts) Allows(host string) bool {
	host = strings.ToLower(host)
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	for _, e := range h {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "*" || e == host || e == name {
			return true
		}
	}
	return false
}

// Check returns an error naming the host of rawURL when it is not allowed,
// and what was about to be fetched from it.
func (h Hosts) Check(rawURL, what string) error {
	host := hostOf(rawURL)
	if host != "" && h.Allows(host) {
		return nil
	}
	if host == "" {
		host = rawURL
	}
	return fmt.Errorf("%s: %w: %s (allow it with --allow-remote-hosts %s, or vendor it into the repository)", what, ErrHostRefused, host, host)
}

// hostOf is the host of a URL, of an scp-like Git address
// (git@github.com:org/repo) or of a github.com/org/repo reference, as
// kustomize reads them.
func hostOf(ref string) string {
	ref = strings.TrimSpace(ref)
	if len(ref) >= 5 && strings.EqualFold(ref[:5], "git::") {
		ref = ref[5:]
	}
	if strings.Contains(ref, "://") {
		u, err := url.Parse(ref)
		if err != nil {
			return ""
		}
		return u.Host
	}
	if scpUser.MatchString(ref) {
		rest := ref[strings.IndexByte(ref, '@')+1:]
		if i := strings.IndexAny(rest, ":/"); i >= 0 {
			return rest[:i]
		}
		return rest
	}
	if l := strings.ToLower(ref); strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") {
		return "github.com"
	}
	return ""
}
