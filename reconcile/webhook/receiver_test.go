package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

var deliveries atomic.Int64

// delivery is a fresh X-GitHub-Delivery ID.
func delivery() string { return fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", deliveries.Add(1)) }

func githubPush(repo string) string {
	return `{"ref":"refs/heads/main","after":"` + fmt.Sprint(deliveries.Add(1)) + `","repository":{"clone_url":"` + repo + `"}}`
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
		{name: "signed GitHub push", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, github), "X-GitHub-Delivery": delivery()},
			body: github, status: http.StatusAccepted, triggers: []string{"https://github.com/o/r.git", "git@github.com:o/r.git"}},
		{name: "GitHub push signed with another secret", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", github), "X-GitHub-Delivery": delivery()},
			body: github, status: http.StatusUnauthorized},
		{name: "unsigned GitHub push", headers: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery()}, body: github, status: http.StatusUnauthorized},
		{name: "GitHub push without a delivery ID", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, github)},
			body: github, status: http.StatusBadRequest},
		{name: "GitHub ping", headers: map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secret, "{}"), "X-GitHub-Delivery": delivery()},
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

// post sends a real HTTP request to url.
func post(t *testing.T, url string, headers map[string]string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReceiverRefusesReplayedGitHubDeliveries(t *testing.T) {
	const secret = "s3cret"
	var triggered atomic.Int64
	srv := httptest.NewServer(&Receiver{Secret: []byte(secret), Trigger: func(context.Context, string) (int, error) {
		triggered.Add(1)
		return 1, nil
	}})
	defer srv.Close()
	body := githubPush("https://github.com/o/r.git")
	headers := func(id, sig string) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": id, "X-Hub-Signature-256": sig}
	}

	// A forged request does not poison the delivery ID it names.
	id := delivery()
	if code, msg := post(t, srv.URL, headers(id, sign("forged", body)), strings.NewReader(body)); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d %s", code, msg)
	}
	if code, msg := post(t, srv.URL, headers(id, sign(secret, body)), strings.NewReader(body)); code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", code, msg)
	}
	// The captured request sent again, as is or under a fresh delivery ID
	// (the signature covers only the body): refused, nothing triggered.
	if code, msg := post(t, srv.URL, headers(id, sign(secret, body)), strings.NewReader(body)); code != http.StatusConflict || !strings.Contains(msg, "already received") {
		t.Fatalf("same delivery ID: %d %s", code, msg)
	}
	if code, msg := post(t, srv.URL, headers(delivery(), sign(secret, body)), strings.NewReader(body)); code != http.StatusConflict || !strings.Contains(msg, "replay") {
		t.Fatalf("same payload, new delivery ID: %d %s", code, msg)
	}
	if n := triggered.Load(); n != 1 {
		t.Fatalf("triggered %d times, want 1", n)
	}
	// The next push is a new payload.
	next := githubPush("https://github.com/o/r.git")
	if code, msg := post(t, srv.URL, headers(delivery(), sign(secret, next)), strings.NewReader(next)); code != http.StatusAccepted {
		t.Fatalf("next push: %d %s", code, msg)
	}
}

func TestRecentForgetsByTimeAndCount(t *testing.T) {
	r := newRecent(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	r.add(t0, "a", "b")
	if !r.seen("a", t0.Add(59*time.Second)) || r.seen("a", t0.Add(time.Minute)) {
		t.Fatal("a key is remembered for exactly the window")
	}
	r.add(t0.Add(time.Second), "c", "d") // over the bound: a goes
	if r.seen("a", t0.Add(2*time.Second)) || !r.seen("b", t0.Add(2*time.Second)) || r.len() != 3 {
		t.Fatalf("count bound: a seen %v, b seen %v, %d keys", r.seen("a", t0), r.seen("b", t0), r.len())
	}
	r.add(t0.Add(2*time.Minute), "e") // the others expired
	if r.len() != 1 {
		t.Fatalf("%d keys after expiry, want 1", r.len())
	}
}

// countingReader counts what the receiver read of a body.
type countingReader struct {
	n, size int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.size {
		return 0, io.EOF
	}
	k := min(int64(len(p)), c.size-c.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	c.n += k
	return int(k), nil
}

func TestReceiverBoundsWhatItReadsBeforeAuthenticating(t *testing.T) {
	rc := &Receiver{Secret: []byte("s3cret"), Trigger: func(context.Context, string) (int, error) { return 1, nil }, MaxBody: 64 << 10}
	tests := []struct {
		name    string
		headers map[string]string
		size    int64
		status  int
		maxRead int64
	}{
		{name: "a GitLab token is checked before the body is read",
			headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"}, size: 8 << 20, status: http.StatusUnauthorized, maxRead: 0},
		{name: "a malformed GitHub signature is refused before the body is read",
			headers: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery(), "X-Hub-Signature-256": "sha256=abc"}, size: 8 << 20, status: http.StatusUnauthorized, maxRead: 0},
		{name: "a well-formed GitHub request is read up to the limit only",
			headers: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery(), "X-Hub-Signature-256": sign("s3cret", "x")}, size: 8 << 20, status: http.StatusRequestEntityTooLarge, maxRead: 64<<10 + 32<<10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{size: tc.size}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			req.ContentLength = -1 // chunked: the receiver cannot trust a length
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if body.n > tc.maxRead {
				t.Errorf("read %d bytes of the body, want at most %d", body.n, tc.maxRead)
			}
		})
	}

	t.Run("a Content-Length over the limit is refused before reading", func(t *testing.T) {
		body := &countingReader{size: 1 << 20}
		req := httptest.NewRequest(http.MethodPost, "/", body)
		req.ContentLength = 1 << 20
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", delivery())
		req.Header.Set("X-Hub-Signature-256", sign("s3cret", "x"))
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || body.n != 0 {
			t.Fatalf("status %d after reading %d bytes, want 413 after none", rec.Code, body.n)
		}
	})
}

func TestReceiverCapsRequestsInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	rc := &Receiver{Secret: []byte("s3cret"), MaxInFlight: 2, Trigger: func(ctx context.Context, _ string) (int, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return 1, nil
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	gitlab := `{"ref":"refs/heads/main","project":{"git_http_url":"https://gitlab.com/o/r.git"}}`
	hdr := map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			code, _ := post(t, srv.URL, hdr, strings.NewReader(gitlab))
			codes <- code
		}()
	}
	<-started // two requests hold both slots
	<-started
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(gitlab))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refused request waited %s", d)
	}
	close(release)
	for range 2 {
		if code := <-codes; code != http.StatusAccepted {
			t.Fatalf("a request in flight ended %d", code)
		}
	}
	// The slots are free again.
	if code, msg := post(t, srv.URL, hdr, strings.NewReader(gitlab)); code != http.StatusAccepted {
		t.Fatalf("after the burst: %d %s", code, msg)
	}
}

// syncs stands for the Reconciler's view of Syncs with their own secret.
type syncs struct {
	targets   []Target
	reads     atomic.Int64
	mu        sync.Mutex
	triggered []string
}

func (s *syncs) WebhookTargets(context.Context) ([]Target, error) {
	s.reads.Add(1)
	return s.targets, nil
}

func (s *syncs) TriggerSyncs(_ context.Context, ts []Target) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range ts {
		s.triggered = append(s.triggered, t.Namespace+"/"+t.Name)
	}
	return len(ts), nil
}

func (s *syncs) SameRepository(a, b string) bool {
	norm := func(u string) string { return strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(u), "/"), ".git") }
	return norm(a) == norm(b)
}

func (s *syncs) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.triggered
	s.triggered = nil
	return t
}

func TestReceiverPerSyncSecrets(t *testing.T) {
	const repoA, repoB = "https://git.example/team/app.git", "https://git.example/team/other.git"
	ss := &syncs{targets: []Target{
		{Namespace: "team-a", Name: "app", URL: repoA, Secret: []byte("secret-a")},
		{Namespace: "team-a", Name: "app-staging", URL: repoA + "/", Secret: []byte("secret-a")},
		{Namespace: "team-b", Name: "app", URL: repoA, Secret: []byte("secret-b")},
		{Namespace: "team-a", Name: "other", URL: repoB, Secret: []byte("secret-a")},
	}}
	var global []string
	srv := httptest.NewServer(&Receiver{Secret: []byte("controller-secret"), Syncs: ss, Trigger: func(_ context.Context, u string) (int, error) {
		global = append(global, u)
		return 3, nil
	}})
	defer srv.Close()
	gh := func(secret, repo string) (map[string]string, string) {
		body := githubPush(repo)
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery(), "X-Hub-Signature-256": sign(secret, body)}, body
	}
	gl := func(token, repo string) (map[string]string, string) {
		return map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token},
			`{"ref":"refs/heads/main","project":{"git_http_url":"` + repo + `"}}`
	}
	tests := []struct {
		name   string
		req    func() (map[string]string, string)
		status int
		want   []string
		global bool
	}{
		{name: "GitHub signed with team-a's secret triggers team-a's Syncs of that repository only",
			req: func() (map[string]string, string) { return gh("secret-a", repoA) }, status: http.StatusAccepted, want: []string{"team-a/app", "team-a/app-staging"}},
		{name: "GitHub signed with team-b's secret triggers team-b's",
			req: func() (map[string]string, string) { return gh("secret-b", repoA) }, status: http.StatusAccepted, want: []string{"team-b/app"}},
		{name: "GitHub signed with a tenant's secret for a repository none of its Syncs follows",
			req: func() (map[string]string, string) { return gh("secret-b", repoB) }, status: http.StatusUnauthorized},
		{name: "GitHub signed with the controller-wide secret triggers every Sync of the repository",
			req: func() (map[string]string, string) { return gh("controller-secret", repoA) }, status: http.StatusAccepted, global: true},
		{name: "GitLab with team-a's token triggers team-a's Syncs of that repository only",
			req: func() (map[string]string, string) { return gl("secret-a", repoB) }, status: http.StatusAccepted, want: []string{"team-a/other"}},
		{name: "GitLab with an unknown token",
			req: func() (map[string]string, string) { return gl("secret-c", repoA) }, status: http.StatusUnauthorized},
		{name: "GitLab with the controller-wide token",
			req: func() (map[string]string, string) { return gl("controller-secret", repoA) }, status: http.StatusAccepted, global: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			global = nil
			h, body := tc.req()
			code, msg := post(t, srv.URL, h, strings.NewReader(body))
			if code != tc.status {
				t.Fatalf("status %d, want %d (%s)", code, tc.status, msg)
			}
			if got := ss.take(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("triggered %v, want %v", got, tc.want)
			}
			if tc.global != (len(global) > 0) {
				t.Errorf("controller-wide trigger of %v, want it %v", global, tc.global)
			}
		})
	}
	if n := ss.reads.Load(); n != 1 {
		t.Errorf("the Syncs' secrets were read %d times in a burst, want once per %s", n, targetsTTL)
	}
}

// What a refused request costs the receiver: a GitLab hook with a wrong
// token offering 8 MiB, and a forged GitHub push of 1 KiB.
func BenchmarkReceiverRefuses(b *testing.B) {
	rc := &Receiver{Secret: []byte("s3cret"), Trigger: func(context.Context, string) (int, error) { return 1, nil }}
	body := githubPush("https://github.com/o/r.git") + strings.Repeat(" ", 1<<10)
	b.Run("GitLab wrong token, 8 MiB offered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/", &countingReader{size: 8 << 20})
			req.Header.Set("X-Gitlab-Event", "Push Hook")
			req.Header.Set("X-Gitlab-Token", "wrong")
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("GitHub forged signature, 1 KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-GitHub-Delivery", "bench")
			req.Header.Set("X-Hub-Signature-256", sign("forged", body))
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				b.Fatal(rec.Code)
			}
		}
	})
}
