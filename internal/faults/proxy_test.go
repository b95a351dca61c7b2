package faults

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The proxy's faults are what a client sees from a broken server: each is
// checked from the client's side, over real loopback connections.
func TestProxyInjectsEachFaultAndLiftsIt(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer backend.Close()
	p := &Proxy{Target: backend.URL}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	get := func() (int, string, error) {
		resp, err := client.Get(p.URL + "/v1/secret")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	set := func(f Fault) {
		t.Helper()
		if err := p.Set(f); err != nil {
			t.Fatal(err)
		}
	}
	passes := func(when string) {
		t.Helper()
		code, got, err := get()
		if err != nil || code != 200 || got != body {
			t.Fatalf("%s: want the backend's answer, got %d, %d bytes, %v", when, code, len(got), err)
		}
	}

	passes("no fault")

	set(Fault{Kind: Status, Status: http.StatusTooManyRequests})
	if code, _, err := get(); err != nil || code != http.StatusTooManyRequests {
		t.Errorf("status fault: got %d, %v; want 429", code, err)
	}

	set(Fault{Kind: Status, Status: 500, Match: func(r *http.Request) bool { return r.URL.Path == "/other" }})
	passes("a status fault matching another path")

	set(Fault{Kind: Delay, Delay: 5 * time.Second})
	if _, _, err := get(); err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("delay fault past the client's timeout: got %v, want a timeout", err)
	}

	set(Fault{Kind: Reset})
	if _, _, err := get(); !errors.Is(err, syscall.ECONNRESET) && (err == nil || !strings.Contains(err.Error(), "EOF")) {
		t.Errorf("reset fault: got %v, want a connection reset", err)
	}

	set(Fault{Kind: Truncate})
	if _, got, err := get(); err == nil || len(got) >= len(body) {
		t.Errorf("truncate fault: got %d of %d bytes and %v, want a short body and an error", len(got), len(body), err)
	}

	set(Fault{Kind: Down})
	if _, _, err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("down fault: got %v, want connection refused", err)
	}

	set(Fault{})
	passes("after the faults are lifted")
	if p.Faulted() == 0 || p.Requests() <= p.Faulted() {
		t.Errorf("counted %d requests, %d faulted", p.Requests(), p.Faulted())
	}
}
