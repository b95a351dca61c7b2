// Package webhook receives Git push notifications (GitHub and GitLab
// payloads) and makes the Syncs following the pushed repository check it
// at once instead of at their next interval.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxPayload bounds a request body; push payloads are a few KiB.
const maxPayload = 4 << 20

// Trigger makes the Syncs of a repository check it; it returns how many.
type Trigger func(ctx context.Context, repoURL string) (int, error)

// Receiver is the webhook endpoint. A request must prove it knows Secret:
// GitHub signs the body with it (X-Hub-Signature-256), GitLab sends it as
// X-Gitlab-Token. Anything else is refused.
type Receiver struct {
	Secret  []byte
	Trigger Trigger
	// Timeout bounds the work one request triggers (default 10s).
	Timeout time.Duration
}

// Push is what a push payload says, whichever host sent it.
type Push struct {
	// URLs are every URL the host gives for the repository (clone, SSH,
	// web); a Sync matches if it follows any of them.
	URLs []string
	Ref  string
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a push payload", http.StatusMethodNotAllowed)
		return
	}
	if len(rc.Secret) == 0 {
		http.Error(w, "the receiver has no secret configured", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil || len(body) > maxPayload {
		http.Error(w, "unreadable or oversized payload", http.StatusBadRequest)
		return
	}
	push, status, err := rc.parse(req.Header, body)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	if push == nil {
		w.WriteHeader(http.StatusNoContent) // a ping or another event: nothing to do
		return
	}
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	total := 0
	for _, u := range push.URLs {
		n, err := rc.Trigger(ctx, u)
		if err != nil {
			http.Error(w, "triggering reconciliation failed", http.StatusInternalServerError)
			return
		}
		total += n
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "%d sync(s) triggered\n", total)
}

// parse authenticates the request and reads the push it announces. It
// returns nil, 0, nil for authenticated events that are not pushes.
func (rc *Receiver) parse(h http.Header, body []byte) (*Push, int, error) {
	switch {
	case h.Get("X-GitHub-Event") != "":
		if !validGitHubSignature(rc.Secret, body, h.Get("X-Hub-Signature-256")) {
			return nil, http.StatusUnauthorized, fmt.Errorf("invalid or missing X-Hub-Signature-256")
		}
		if h.Get("X-GitHub-Event") != "push" {
			return nil, 0, nil
		}
		var p struct {
			Ref        string `json:"ref"`
			Repository struct {
				CloneURL string `json:"clone_url"`
				SSHURL   string `json:"ssh_url"`
				HTMLURL  string `json:"html_url"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("malformed GitHub push payload")
		}
		return &Push{Ref: p.Ref, URLs: nonEmpty(p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.HTMLURL)}, 0, nil
	case h.Get("X-Gitlab-Event") != "":
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), rc.Secret) != 1 {
			return nil, http.StatusUnauthorized, fmt.Errorf("invalid or missing X-Gitlab-Token")
		}
		if h.Get("X-Gitlab-Event") != "Push Hook" && h.Get("X-Gitlab-Event") != "Tag Push Hook" {
			return nil, 0, nil
		}
		var p struct {
			Ref     string `json:"ref"`
			Project struct {
				HTTPURL string `json:"git_http_url"`
				SSHURL  string `json:"git_ssh_url"`
				WebURL  string `json:"web_url"`
			} `json:"project"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("malformed GitLab push payload")
		}
		return &Push{Ref: p.Ref, URLs: nonEmpty(p.Project.HTTPURL, p.Project.SSHURL, p.Project.WebURL)}, 0, nil
	}
	return nil, http.StatusBadRequest, fmt.Errorf("not a GitHub or GitLab webhook (no X-GitHub-Event or X-Gitlab-Event header)")
}

func validGitHubSignature(secret, body []byte, header string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
