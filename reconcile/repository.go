package reconcile

import (
	"net/url"
	"strings"
)

// sameRepository compares repository URLs the way webhooks name them: the
// host and path, without scheme, credentials, trailing ".git" or slash.
func sameRepository(a, b string) bool {
	return repositoryKey(a) == repositoryKey(b)
}

func repositoryKey(raw string) string {
	s := raw
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		s = u.Hostname() + u.Path
		if p := u.Port(); p != "" && u.Scheme != "ssh" {
			s = u.Hostname() + ":" + p + u.Path
		}
	} else if at := strings.Index(raw, "@"); at >= 0 && strings.Contains(raw[at:], ":") {
		// scp-like git@host:org/repo.git
		host, path, _ := strings.Cut(raw[at+1:], ":")
		s = host + "/" + path
	}
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git"))
	return s
}
