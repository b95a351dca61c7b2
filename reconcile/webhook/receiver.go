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
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of the Receiver's bounds.
const (
	// DefaultMaxBody bounds a request body: push payloads are a few KiB, and
	// a GitHub signature can only be checked over the whole body.
	DefaultMaxBody = 1 << 20
	// DefaultMaxInFlight bounds the requests handled at once; more are
	// answered 503 at once rather than queued.
	DefaultMaxInFlight = 16
	// replayWindow and replayKeys bound the memory of recent GitHub
	// deliveries: GitHub gives up retrying long before.
	replayWindow = 10 * time.Minute
	replayKeys   = 10000
	// targetsTTL is how long the per-Sync webhook secrets are reused: an
	// unauthenticated request never costs more than one read of them per
	// TTL, and a new or changed secret takes effect within it.
	targetsTTL = 30 * time.Second
)

// Trigger makes the Syncs of a repository check it; it returns how many.
type Trigger func(ctx context.Context, repoURL string) (int, error)

// Target is a Sync that has a webhook secret of its own.
type Target struct {
	Namespace, Name string
	// URL is the Sync's spec.source.url.
	URL    string
	Secret []byte
}

// Syncs gives the receiver the Syncs with a webhook secret of their own
// (the controller's Reconciler implements it).
type Syncs interface {
	// WebhookTargets lists every Sync that names a webhook secret, with it.
	WebhookTargets(ctx context.Context) ([]Target, error)
	// TriggerSyncs makes these Syncs check their repository at once.
	TriggerSyncs(ctx context.Context, targets []Target) (int, error)
	// SameRepository reports whether two URLs name the same repository.
	SameRepository(a, b string) bool
}

// Ledger is the record of accepted GitHub deliveries that every replica of
// the receiver shares, so that a delivery replayed to another replica
// behind the same Service is refused too (the controller keeps it in a
// ConfigMap: reconcile.DeliveryLedger).
type Ledger interface {
	// Claim records keys at now, atomically, unless one of them was
	// recorded less than window before: then it records nothing and
	// returns false.
	Claim(ctx context.Context, now time.Time, window time.Duration, keys ...string) (bool, error)
}

// Receiver is the webhook endpoint. A request must prove it knows a secret:
// GitHub signs the body with it (X-Hub-Signature-256), GitLab sends it as
// X-Gitlab-Token. The controller-wide Secret triggers every Sync following
// the pushed repository; a Sync's own secret (Syncs) triggers only the Syncs
// that follow it and share that secret. Anything else is refused.
//
// What an unauthenticated sender can cost is bounded: at most MaxInFlight
// requests at once, a GitLab token is checked before the body is read, a
// GitHub body is read only after its headers are well formed and only up to
// MaxBody, and a GitHub delivery (by its X-GitHub-Delivery ID or its
// signature) is accepted once.
type Receiver struct {
	Secret  []byte
	Trigger Trigger
	// Syncs, when set, lets Syncs bring their own webhook secret.
	Syncs Syncs
	// Timeout bounds the work one request triggers (default 10s).
	Timeout time.Duration
	// MaxBody and MaxInFlight default to DefaultMaxBody and
	// DefaultMaxInFlight.
	MaxBody     int64
	MaxInFlight int
	// Ledger, when set, is consulted after a GitHub delivery is
	// authenticated: what another replica accepted is refused here. The
	// receiver's own memory still refuses replays to itself first, before
	// reading the body. A Ledger that fails refuses the delivery (503).
	Ledger Ledger

	once     sync.Once
	slots    chan struct{}
	replays  *recent
	now      func() time.Time
	targetMu sync.Mutex
	targets  []Target
	fetched  time.Time
}

// Push is what a push payload says, whichever host sent it.
type Push struct {
	// URLs are every URL the host gives for the repository (clone, SSH,
	// web); a Sync matches if it follows any of them.
	URLs []string
	Ref  string
}

// errRefused is a request refused with a status and a message for the sender.
type errRefused struct {
	status int
	msg    string
}

func (e *errRefused) Error() string { return e.msg }

func refuse(status int, format string, args ...any) error {
	return &errRefused{status: status, msg: fmt.Sprintf(format, args...)}
}

func (rc *Receiver) init() {
	rc.once.Do(func() {
		n := rc.MaxInFlight
		if n <= 0 {
			n = DefaultMaxInFlight
		}
		rc.slots = make(chan struct{}, n)
		rc.replays = newRecent(replayWindow, replayKeys)
		if rc.now == nil {
			rc.now = time.Now
		}
	})
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rc.init()
	if req.Method != http.MethodPost {
		http.Error(w, "POST a push payload", http.StatusMethodNotAllowed)
		return
	}
	select {
	case rc.slots <- struct{}{}:
		defer func() { <-rc.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many webhook requests at once; retry", http.StatusServiceUnavailable)
		return
	}
	if len(rc.Secret) == 0 && rc.Syncs == nil {
		http.Error(w, "the receiver has no secret configured", http.StatusServiceUnavailable)
		return
	}
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()

	n, err := rc.handle(ctx, w, req)
	var rf *errRefused
	switch {
	case errors.As(err, &rf):
		http.Error(w, rf.msg, rf.status)
	case err != nil:
		http.Error(w, "triggering reconciliation failed", http.StatusInternalServerError)
	case n < 0:
		w.WriteHeader(http.StatusNoContent) // a ping or another event: nothing to do
	default:
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%d sync(s) triggered\n", n)
	}
}

// handle authenticates the request and triggers what it allows. It returns
// -1 for authenticated events that are not pushes.
func (rc *Receiver) handle(ctx context.Context, w http.ResponseWriter, req *http.Request) (int, error) {
	h := req.Header
	switch {
	case h.Get("X-GitHub-Event") != "":
		return rc.github(ctx, w, req)
	case h.Get("X-Gitlab-Event") != "":
		return rc.gitlab(ctx, w, req)
	}
	return 0, refuse(http.StatusBadRequest, "not a GitHub or GitLab webhook (no X-GitHub-Event or X-Gitlab-Event header)")
}

// github checks the cheap headers, reads the body, and accepts it if the
// controller-wide secret or the secret of a Sync following the repository
// signed it, once.
func (rc *Receiver) github(ctx context.Context, w http.ResponseWriter, req *http.Request) (int, error) {
	h := req.Header
	sig, ok := signature(h.Get("X-Hub-Signature-256"))
	if !ok {
		return 0, refuse(http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
	}
	delivery := h.Get("X-GitHub-Delivery")
	if delivery == "" || len(delivery) > 128 {
		return 0, refuse(http.StatusBadRequest, "missing or malformed X-GitHub-Delivery")
	}
	now := rc.now()
	if rc.replays.seen("delivery\x00"+delivery, now) {
		return 0, refuse(http.StatusConflict, "delivery %s was already received", delivery)
	}
	body, err := rc.readBody(w, req)
	if err != nil {
		return 0, err
	}
	// The signature covers the body only: a replay under a fresh delivery
	// ID is the same body with the same signature.
	sigKey := "signature\x00" + hex.EncodeToString(sig)
	if rc.replays.seen(sigKey, now) {
		return 0, refuse(http.StatusConflict, "this payload was already received (delivery %s is a replay)", delivery)
	}
	push, err := parseGitHub(body)
	global := len(rc.Secret) > 0 && validSignature(rc.Secret, body, sig)
	var targets []Target
	if !global {
		if err != nil || rc.Syncs == nil {
			return 0, refuse(http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
		}
		followers, err := rc.following(ctx, push.URLs)
		if err != nil {
			return 0, err
		}
		macs := map[string]bool{} // one HMAC per distinct secret
		for _, t := range followers {
			valid, done := macs[string(t.Secret)]
			if !done {
				valid = validSignature(t.Secret, body, sig)
				macs[string(t.Secret)] = valid
			}
			if valid {
				targets = append(targets, t)
			}
		}
		if len(targets) == 0 {
			return 0, refuse(http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
		}
	}
	keys := []string{"delivery\x00" + delivery, sigKey}
	if rc.Ledger != nil {
		fresh, err := rc.Ledger.Claim(ctx, now, replayWindow, keys...)
		if err != nil {
			return 0, refuse(http.StatusServiceUnavailable, "the record of deliveries is unavailable; redeliver later")
		}
		if !fresh {
			rc.replays.add(now, keys...)
			return 0, refuse(http.StatusConflict, "delivery %s (or its payload) was already received by another replica", delivery)
		}
	}
	rc.replays.add(now, keys...)
	if h.Get("X-GitHub-Event") != "push" {
		return -1, nil
	}
	if err != nil {
		return 0, refuse(http.StatusBadRequest, "malformed GitHub push payload")
	}
	return rc.trigger(ctx, global, push, targets)
}

// gitlab checks the token, which is a header, before reading the body.
func (rc *Receiver) gitlab(ctx context.Context, w http.ResponseWriter, req *http.Request) (int, error) {
	h := req.Header
	token := []byte(h.Get("X-Gitlab-Token"))
	if len(token) == 0 {
		return 0, refuse(http.StatusUnauthorized, "invalid or missing X-Gitlab-Token")
	}
	global := len(rc.Secret) > 0 && subtle.ConstantTimeCompare(token, rc.Secret) == 1
	var holders []Target
	if !global && rc.Syncs != nil {
		all, err := rc.webhookTargets(ctx)
		if err != nil {
			return 0, err
		}
		for _, t := range all {
			if subtle.ConstantTimeCompare(token, t.Secret) == 1 {
				holders = append(holders, t)
			}
		}
	}
	if !global && len(holders) == 0 {
		return 0, refuse(http.StatusUnauthorized, "invalid or missing X-Gitlab-Token")
	}
	if e := h.Get("X-Gitlab-Event"); e != "Push Hook" && e != "Tag Push Hook" {
		return -1, nil
	}
	body, err := rc.readBody(w, req)
	if err != nil {
		return 0, err
	}
	push, err := parseGitLab(body)
	if err != nil {
		return 0, refuse(http.StatusBadRequest, "malformed GitLab push payload")
	}
	var targets []Target
	for _, t := range holders {
		if rc.follows(t, push.URLs) {
			targets = append(targets, t)
		}
	}
	return rc.trigger(ctx, global, push, targets)
}

// readBody reads at most MaxBody bytes; a larger body is refused, by its
// Content-Length before anything is read.
func (rc *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	limit := rc.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if req.ContentLength > limit {
		return nil, refuse(http.StatusRequestEntityTooLarge, "payload larger than %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, refuse(http.StatusRequestEntityTooLarge, "payload larger than %d bytes", limit)
	}
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "unreadable payload")
	}
	return body, nil
}

func (rc *Receiver) trigger(ctx context.Context, global bool, push *Push, targets []Target) (int, error) {
	if !global {
		if len(targets) == 0 {
			return 0, nil
		}
		return rc.Syncs.TriggerSyncs(ctx, targets)
	}
	total := 0
	for _, u := range push.URLs {
		n, err := rc.Trigger(ctx, u)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// following lists the Syncs with their own secret that follow one of urls.
func (rc *Receiver) following(ctx context.Context, urls []string) ([]Target, error) {
	all, err := rc.webhookTargets(ctx)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, t := range all {
		if rc.follows(t, urls) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (rc *Receiver) follows(t Target, urls []string) bool {
	for _, u := range urls {
		if rc.Syncs.SameRepository(t.URL, u) {
			return true
		}
	}
	return false
}

// webhookTargets returns the per-Sync secrets, read at most once per
// targetsTTL.
func (rc *Receiver) webhookTargets(ctx context.Context) ([]Target, error) {
	rc.targetMu.Lock()
	defer rc.targetMu.Unlock()
	if rc.targets != nil && rc.now().Sub(rc.fetched) < targetsTTL {
		return rc.targets, nil
	}
	t, err := rc.Syncs.WebhookTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the Syncs' webhook secrets: %w", err)
	}
	if t == nil {
		t = []Target{}
	}
	rc.targets, rc.fetched = t, rc.now()
	return t, nil
}

func parseGitHub(body []byte) (*Push, error) {
	var p struct {
		Ref        string `json:"ref"`
		Repository struct {
			CloneURL string `json:"clone_url"`
			SSHURL   string `json:"ssh_url"`
			HTMLURL  string `json:"html_url"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	return &Push{Ref: p.Ref, URLs: nonEmpty(p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.HTMLURL)}, nil
}

func parseGitLab(body []byte) (*Push, error) {
	var p struct {
		Ref     string `json:"ref"`
		Project struct {
			HTTPURL string `json:"git_http_url"`
			SSHURL  string `json:"git_ssh_url"`
			WebURL  string `json:"web_url"`
		} `json:"project"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	return &Push{Ref: p.Ref, URLs: nonEmpty(p.Project.HTTPURL, p.Project.SSHURL, p.Project.WebURL)}, nil
}

// signature decodes "sha256=<64 hex digits>".
func signature(header string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(hexSig)
	return sig, err == nil
}

func validSignature(secret, body, sig []byte) bool {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
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
