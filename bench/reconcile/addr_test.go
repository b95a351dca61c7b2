package reconcile

import "net"

type netListener struct{}

// listen returns a loopback address that was free a moment ago.
func (netListener) listen() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
