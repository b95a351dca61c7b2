package main

import (
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestDevWalkthroughAndCtrlC runs `latchkey dev` as a person would: it
// narrates every step, waits, and on Ctrl-C (the cancelled context)
// leaves no server listening and no file behind.
func TestDevWalkthroughAndCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole demo")
	}
	for _, tool := range []string{"kube-apiserver", "etcd", "vault"} {
		testenv.Tool(t, tool)
	}
	out := &testenv.Output{}
	ctx, ctrlC := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, out, false) }()

	deadline := time.After(4 * time.Minute)
	for !strings.Contains(out.String(), "press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("latchkey dev ended before the walkthrough finished: %v\n%s", err, out)
		case <-deadline:
			ctrlC()
			t.Fatalf("the walkthrough did not finish in 4 minutes:\n%s", out)
		case <-time.After(200 * time.Millisecond):
		}
	}
	text := out.String()
	for _, step := range []string{
		"Ready: revision", "has password:", "back to 1 in", "rolled in", "Ready=False: 1 reference could not be resolved",
		"secret/data/demo/db-typo#password", "still says color=blue", "Ready again at",
		"acts as ServiceAccount demo/shop-deployer", "namespace kube-system", "nothing of it applied: the last applied revision is still",
		"reverted: Ready again at",
		// promotion
		"moved verified/dev to it", "the soak's end", "staging took", "from verified/dev",
		"secret/data/staging/shop/payments#apikey: key missing", "vault kv patch -mount=secret staging/shop/payments apikey=-",
		"PromotionPending=True (SecretsMissing)", "still says version 1.0", "after the key was written; ConfigMap release says version 1.1",
		"waited for secret secret/data/staging/shop/payments#apikey",
	} {
		if !strings.Contains(text, step) {
			t.Errorf("the narration lacks %q", step)
		}
	}
	addrs := regexp.MustCompile(`(?:API server at https://|Vault at http://|)(127\.0\.0\.1:\d+)`).FindAllStringSubmatch(text, -1)
	dir := regexp.MustCompile(`(/\S*latchkey-dev-\d+)/`).FindStringSubmatch(text)
	if len(addrs) < 3 || dir == nil {
		t.Fatalf("could not find the servers and the work dir in:\n%s", text)
	}

	ctrlC()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("latchkey dev returned %v after Ctrl-C", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("latchkey dev did not stop within 2 minutes of Ctrl-C")
	}
	if _, err := os.Stat(dir[1]); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Ctrl-C (%v)", dir[1], err)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a[1], time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens on %s after Ctrl-C", a[1])
		}
	}
}
