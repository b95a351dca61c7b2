package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// The webhook's HTTP server drops a client that sends its headers or its
// body too slowly (a slowloris holds no connection for long), over a real
// TCP connection.
func TestWebhookServerDropsSlowClients(t *testing.T) {
	addr := testenv.FreeLoopbackAddr(t)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "unreadable payload", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- webhookServer(addr, handler, webhookTimeouts{header: 300 * time.Millisecond, read: 600 * time.Millisecond, write: time.Second, idle: time.Second}).Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	dial := func() net.Conn {
		for range 50 {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				return c
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the server never listened on %s", addr)
		return nil
	}
	// closedWithin reports how long the server took to end the connection.
	closedWithin := func(c net.Conn, limit time.Duration) time.Duration {
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(limit))
		_, _ = io.Copy(io.Discard, c) // until the server closes, or the deadline
		d := time.Since(start)
		if d >= limit {
			t.Fatalf("the server still held the connection after %s", limit)
		}
		return d
	}

	t.Run("headers never finished", func(t *testing.T) {
		c := dial()
		defer c.Close()
		if _, err := io.WriteString(c, "POST /hook HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Push Hook\r\n"); err != nil {
			t.Fatal(err)
		}
		closedWithin(c, 3*time.Second)
	})
	t.Run("a body trickled byte by byte", func(t *testing.T) {
		c := dial()
		defer c.Close()
		if _, err := io.WriteString(c, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		closedWithin(c, 3*time.Second)
	})
	t.Run("a prompt client is served", func(t *testing.T) {
		c := dial()
		defer c.Close()
		if _, err := io.WriteString(c, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
