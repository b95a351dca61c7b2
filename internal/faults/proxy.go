package faults

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what a Proxy does to a request.
type Kind int

const (
	// Pass forwards the request and its response unchanged.
	Pass Kind = iota
	// Down refuses connections, as a stopped server does: the listener is
	// closed (connection refused) and open connections are cut, until the
	// fault is lifted, when the proxy listens on the same address again.
	Down
	// Status answers with Fault.Status (429, 500, 503...) without forwarding;
	// a 429 or 503 carries Retry-After: 1.
	Status
	// Delay forwards the request after Fault.Delay, so a client with a
	// shorter timeout gives up: a slow or overloaded server.
	Delay
	// Reset cuts the TCP connection with a reset, without an answer.
	Reset
	// Truncate forwards the request and sends the response's headers and the
	// first half of its body, then cuts the connection: a truncated
	// packfile, a half-read secret.
	Truncate
)

func (k Kind) String() string {
	switch k {
	case Pass:
		return "pass"
	case Down:
		return "down"
	case Status:
		return "status"
	case Delay:
		return "delay"
	case Reset:
		return "reset"
	case Truncate:
		return "truncate"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is what a Proxy injects.
type Fault struct {
	Kind   Kind
	Status int           // for Status
	Delay  time.Duration // for Delay
	// Match limits the fault to the requests it accepts (e.g. only
	// git-upload-pack, only one Vault path); nil matches every request.
	// Requests it rejects pass. Down ignores it.
	Match func(*http.Request) bool
}

// Proxy is an HTTP reverse proxy on loopback in front of Target that injects
// the Fault currently set. Point the client at URL.
type Proxy struct {
	// Target is the URL of the real component, e.g. http://127.0.0.1:8200.
	Target string

	// Set by Start.
	URL string

	fault    atomic.Pointer[Fault]
	requests atomic.Int64
	faulted  atomic.Int64

	mu       sync.Mutex
	addr     string
	server   *http.Server
	listener net.Listener
	serving  sync.WaitGroup
}

// Start listens on a free loopback port and serves with no fault set.
func (p *Proxy) Start() error {
	target, err := url.Parse(p.Target)
	if err != nil || target.Host == "" {
		return fmt.Errorf("proxy target %q: want a URL such as http://127.0.0.1:8200", p.Target)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// A response is streamed as it comes (a Git pack, a watch), so a delay
	// or a cut is seen by the client where it happens.
	rp.FlushInterval = -1
	// The cuts it makes on purpose are not news.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = p.truncate
	p.server = &http.Server{Handler: p.handler(rp), ReadHeaderTimeout: 30 * time.Second}
	p.fault.Store(&Fault{Kind: Pass})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.listen("127.0.0.1:0"); err != nil {
		return err
	}
	p.addr = p.listener.Addr().String()
	p.URL = "http://" + p.addr
	return nil
}

// listen serves on addr; p.mu is held.
func (p *Proxy) listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy listening on %s: %w", addr, err)
	}
	p.listener = l
	p.serving.Add(1)
	go func() {
		defer p.serving.Done()
		_ = p.server.Serve(l)
	}()
	return nil
}

// Set injects f from the next request on; Set(Fault{}) lifts every fault.
// Setting Down closes the listener and cuts open connections; lifting it
// listens on the same address again.
func (p *Proxy) Set(f Fault) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.fault.Swap(&f)
	switch {
	case f.Kind == Down && old.Kind != Down:
		// Close, not Shutdown: a stopped server does not finish what it
		// was answering.
		err := p.server.Close()
		p.serving.Wait()
		// The server cannot Serve again after Close; a fresh one takes
		// over the same handler when the fault is lifted.
		p.server = &http.Server{Handler: p.server.Handler, ReadHeaderTimeout: 30 * time.Second}
		p.listener = nil
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("proxy going down: %w", err)
		}
	case f.Kind != Down && old.Kind == Down:
		return p.listen(p.addr)
	}
	return nil
}

// Requests is how many requests reached the proxy; Faulted how many of them
// a fault changed.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Faulted is how many requests a fault changed.
func (p *Proxy) Faulted() int64 { return p.faulted.Load() }

// Stop closes the proxy and every connection through it.
func (p *Proxy) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.server.Close()
	p.serving.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (p *Proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		f := p.fault.Load()
		if f.Kind == Pass || (f.Match != nil && !f.Match(r)) {
			next.ServeHTTP(w, r)
			return
		}
		p.faulted.Add(1)
		switch f.Kind {
		case Status:
			if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, fmt.Sprintf("fault injected by the test proxy: %d", f.Status), f.Status)
		case Delay:
			select {
			case <-time.After(f.Delay):
				next.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		case Reset:
			reset(w)
		case Truncate:
			next.ServeHTTP(w, r.WithContext(withTruncate(r.Context())))
		default: // Down, between Set and the listener closing
			reset(w)
		}
	})
}

// reset cuts the connection under w with a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// truncate replaces the body of a response to a request marked by the
// Truncate fault with its first half followed by an error: the reverse proxy
// then aborts the connection after sending that half, and the client, told
// the full length or reading chunks, sees the stream end early.
func (p *Proxy) truncate(resp *http.Response) error {
	if !truncating(resp.Request.Context()) {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]), errReader{}))
	return nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) {
	return 0, errors.New("response truncated by the test proxy")
}
