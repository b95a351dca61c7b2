package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestReceiver(t *testing.T) {
	const secret = "s3cret"
	github := `{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/o/r.git","ssh_url":"git@github.com:o/r.git"}}`
	gitlab := `{"ref":"refs/heads/main","project":{"git_http_url":"https://gitlab.com/o/r.git"}}`
	tests := []struct {
		name     string
		headers  map[string]string
		body     string
		status   int
		triggers []string
	}{
		{name: "signed GitHub push", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, github)},
			body: github, status: http.StatusAccepted, triggers: []string{"https://github.com/o/r.git", "git@github.com:o/r.git"}},
		{name: "GitHub push signed with another secret", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", github)},
			body: github, status: http.StatusUnauthorized},
		{name: "unsigned GitHub push", headers: map[string]string{"X-GitHub-Event": "push"}, body: github, status: http.StatusUnauthorized},
		{name: "GitHub ping", headers: map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secret, "{}")},
			body: "{}", status: http.StatusNoContent},
		{name: "GitLab push with token", headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret},
			body: gitlab, status: http.StatusAccepted, triggers: []string{"https://gitlab.com/o/r.git"}},
		{name: "GitLab push with a wrong token", headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"},
			body: gitlab, status: http.StatusUnauthorized},
		{name: "unknown sender", body: github, status: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			rc := &Receiver{Secret: []byte(secret), Trigger: func(_ context.Context, u string) (int, error) {
				got = append(got, u)
				return 1, nil
			}}
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if !reflect.DeepEqual(got, tc.triggers) {
				t.Errorf("triggered %v, want %v", got, tc.triggers)
			}
		})
	}
}
