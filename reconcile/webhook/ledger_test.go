package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memLedger is a Ledger in memory, for the receiver's logic; the one the
// controller uses (a ConfigMap) is tested against the API server in
// package reconcile.
type memLedger struct {
	mu   sync.Mutex
	at   map[string]time.Time
	fail error
}

func (l *memLedger) Claim(_ context.Context, now time.Time, window time.Duration, keys ...string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return false, l.fail
	}
	for _, k := range keys {
		if t, ok := l.at[k]; ok && now.Sub(t) < window {
			return false, nil
		}
	}
	for _, k := range keys {
		l.at[k] = now
	}
	return true, nil
}

// Two replicas behind one Service share a ledger: a delivery one of them
// accepted is refused by the other, under its own ID or another; a ledger
// that cannot answer refuses the delivery (fail closed) so the sender
// redelivers it later.
func TestReceiversShareTheirReplayGuard(t *testing.T) {
	const secret = "s3cret"
	ledger := &memLedger{at: map[string]time.Time{}}
	var triggered atomic.Int64
	replica := func() *httptest.Server {
		return httptest.NewServer(&Receiver{Secret: []byte(secret), Ledger: ledger, Trigger: func(context.Context, string) (int, error) {
			triggered.Add(1)
			return 1, nil
		}})
	}
	a, b := replica(), replica()
	defer a.Close()
	defer b.Close()
	headers := func(id, sig string) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": id, "X-Hub-Signature-256": sig}
	}
	body := githubPush("https://github.com/o/r.git")
	id := delivery()

	steps := []struct {
		name   string
		to     *httptest.Server
		id     string
		status int
		says   string
	}{
		{"first delivery, to replica a", a, id, http.StatusAccepted, "triggered"},
		{"the same delivery, to replica b", b, id, http.StatusConflict, "another replica"},
		{"the same payload under a new ID, to replica b", b, delivery(), http.StatusConflict, "already received"},
		{"the same delivery, to replica a again", a, id, http.StatusConflict, "already received"},
	}
	for _, s := range steps {
		if code, msg := post(t, s.to.URL, headers(s.id, sign(secret, body)), strings.NewReader(body)); code != s.status || !strings.Contains(msg, s.says) {
			t.Errorf("%s: %d %q, want %d saying %q", s.name, code, msg, s.status, s.says)
		}
	}
	if n := triggered.Load(); n != 1 {
		t.Errorf("triggered %d times, want 1", n)
	}

	ledger.fail = errors.New("the API server is unreachable")
	next := githubPush("https://github.com/o/r.git")
	nextID := delivery()
	if code, msg := post(t, b.URL, headers(nextID, sign(secret, next)), strings.NewReader(next)); code != http.StatusServiceUnavailable || strings.Contains(msg, "unreachable") {
		t.Errorf("with the ledger down: %d %q, want 503 without the cause's detail", code, msg)
	}
	if n := triggered.Load(); n != 1 {
		t.Errorf("a delivery the ledger could not record triggered a reconciliation (%d triggers)", n)
	}
	ledger.fail = nil
	if code, msg := post(t, b.URL, headers(nextID, sign(secret, next)), strings.NewReader(next)); code != http.StatusAccepted {
		t.Errorf("the redelivery once the ledger is back: %d %q, want 202", code, msg)
	}
}
