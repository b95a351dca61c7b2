package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// webhookTimeouts bound how long a client of the webhook receiver may hold
// a connection.
type webhookTimeouts struct {
	header, read, write, idle time.Duration
}

// defaultWebhookTimeouts: the headers in 5s and the whole request (at most
// 1 MiB) in 10s, the answer within 15s (the receiver bounds its own work to
// 10s), and an idle keep-alive connection is closed after 60s.
var defaultWebhookTimeouts = webhookTimeouts{header: 5 * time.Second, read: 10 * time.Second, write: 15 * time.Second, idle: 60 * time.Second}

// receiverServer serves the webhook receiver at /hook on every replica,
// leader or not: the chart's Service sends deliveries to any ready pod, and
// what the receiver does (a reconcile request annotation on the Sync, a
// claim in the shared delivery ledger) is done through the API server, where
// the leader sees it. It is ready once it listens and the Syncs it matches
// deliveries against are in the cache, so no delivery reaches a pod that
// would drop it.
type receiverServer struct {
	addr    string
	handler http.Handler
	to      webhookTimeouts
	// warm, when set, runs before the listener opens (the Sync informer).
	warm      func(context.Context) error
	listening atomic.Bool
}

func webhookServer(addr string, h http.Handler, to webhookTimeouts) *receiverServer {
	return &receiverServer{addr: addr, handler: h, to: to}
}

// NeedLeaderElection is false: followers serve deliveries too.
func (s *receiverServer) NeedLeaderElection() bool { return false }

// ready is the readyz check: the receiver answers deliveries.
func (s *receiverServer) ready(*http.Request) error {
	if !s.listening.Load() {
		return errors.New("the webhook receiver is not serving yet")
	}
	return nil
}

// Start serves until ctx ends.
func (s *receiverServer) Start(ctx context.Context) error {
	if s.warm != nil {
		if err := s.warm(ctx); err != nil {
			return fmt.Errorf("webhook receiver: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/hook", s.handler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: s.to.header,
		ReadTimeout:       s.to.read,
		WriteTimeout:      s.to.write,
		IdleTimeout:       s.to.idle,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	s.listening.Store(true)
	go func() {
		<-ctx.Done()
		s.listening.Store(false)
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// syncInformer starts the manager's Sync informer and waits for it to
// sync: on a follower nothing else would before the first delivery.
func syncInformer(mgr ctrl.Manager) func(context.Context) error {
	return func(ctx context.Context) error {
		inf, err := mgr.GetCache().GetInformer(ctx, &v1alpha1.Sync{})
		if err != nil {
			return fmt.Errorf("watching Syncs: %w", err)
		}
		if !mgr.GetCache().WaitForCacheSync(ctx) || !inf.HasSynced() {
			return errors.New("the Sync cache did not sync")
		}
		return nil
	}
}
