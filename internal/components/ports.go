package components

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Ports handed out for servers that must be told their address on the command
// line come from below Linux's ephemeral range (32768-60999): the kernel never
// gives those to another process's bind(":0") or outgoing connection, so the
// port stays free between this check and the server's own bind, even while
// other test binaries start API servers and clients in parallel.
const (
	portLow  = 20000
	portHigh = 32767
)

// FreeLoopbackAddr returns a 127.0.0.1:PORT that is free now and outside the
// kernel's ephemeral range.
func FreeLoopbackAddr() (string, error) {
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(portLow+rand.IntN(portHigh-portLow+1)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port in %d-%d after 100 tries", portLow, portHigh)
}
