package components

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// serverOutput collects the server's stdout and stderr for failure messages
// and spots the ready line. It keeps at most maxServerOutput bytes and passes
// everything on to copy.
type serverOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	copy  io.Writer
	ready chan string
	found bool
}

const maxServerOutput = 1 << 20

func (o *serverOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.copy != nil {
		_, _ = o.copy.Write(p)
	}
	if o.buf.Len()+len(p) <= maxServerOutput {
		o.buf.Write(p)
	}
	if !o.found {
		if addr, ok := readyAddr(o.buf.String()); ok {
			o.found = true
			o.readyCh() <- addr
		}
	}
	return len(p), nil
}

// readyCh is created lazily so the zero serverOutput is usable; buffered so
// Write never blocks on a reader that gave up.
func (o *serverOutput) readyCh() chan string {
	if o.ready == nil {
		o.ready = make(chan string, 1)
	}
	return o.ready
}

func (o *serverOutput) waitReady(ctx context.Context, exited <-chan struct{}, timeout time.Duration) (string, error) {
	o.mu.Lock()
	ready := o.readyCh()
	o.mu.Unlock()
	select {
	case addr := <-ready:
		return addr, nil
	case <-exited:
		return "", fmt.Errorf("server exited before printing %q", vaultReadyPrefixes)
	case <-time.After(timeout):
		return "", fmt.Errorf("no %q line within %s", vaultReadyPrefixes, timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (o *serverOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.buf.String()
	const keep = 16 << 10
	if len(s) > keep {
		s = "...\n" + s[len(s)-keep:]
	}
	return s
}

// readyAddr finds the complete ready line in out and returns its addr= field.
func readyAddr(out string) (string, bool) {
	i := -1
	for _, prefix := range vaultReadyPrefixes {
		if j := strings.Index(out, prefix); j >= 0 {
			i = j
			break
		}
	}
	if i < 0 {
		return "", false
	}
	line, _, complete := strings.Cut(out[i:], "\n")
	if !complete {
		return "", false
	}
	for _, field := range strings.Fields(line) {
		if addr, ok := strings.CutPrefix(field, "addr="); ok {
			return addr, true
		}
	}
	return "", false
}
