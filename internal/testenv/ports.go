package testenv

import (
	"net"
	"testing"
)

// freeLoopbackAddr returns a 127.0.0.1:PORT that was free a moment ago, for
// servers that must be told their address on the command line.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
