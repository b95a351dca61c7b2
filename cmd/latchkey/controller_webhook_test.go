package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// The receiver serves on followers too (it needs no leadership), and the
// readiness check that keeps the Service's deliveries off a pod passes only
// while it listens: not while the Syncs it matches deliveries against are
// still loading, and no longer once it stops.
func TestWebhookReceiverIsReadyOnlyWhileServing(t *testing.T) {
	addr := testenv.FreeLoopbackAddr(t)
	srv := webhookServer(addr, http.NotFoundHandler(), defaultWebhookTimeouts)
	if srv.NeedLeaderElection() {
		t.Fatal("the receiver waits for leadership: a follower behind the Service would drop deliveries")
	}
	warming := make(chan struct{})
	srv.warm = func(ctx context.Context) error {
		select {
		case <-warming:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()

	if err := srv.ready(nil); err == nil {
		t.Fatal("ready before the Sync cache is warm")
	}
	close(warming)
	deadline := time.Now().Add(10 * time.Second)
	for srv.ready(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("never ready after warming up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Post("http://"+addr+"/hook", "application/json", nil)
	if err != nil {
		t.Fatalf("ready, yet not serving: %v", err)
	}
	resp.Body.Close()

	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("stopping: %v", err)
	}
	if srv.ready(nil) == nil {
		t.Error("still ready after stopping")
	}
}
