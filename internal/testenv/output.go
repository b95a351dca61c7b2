package testenv

import (
	"bytes"
	"sync"
)

// Output collects what a process or logger writes while a test reads it, for
// failure messages and for the canary searches that prove no secret value
// reached a log.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
