package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestKnownHostsCallback(t *testing.T) {
	pub := func() ssh.PublicKey {
		k, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ssh.NewPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	host, other := pub(), pub()
	knownHosts := "git.example.com " + string(ssh.MarshalAuthorizedKey(host)) +
		"[git.example.com]:2222 " + string(ssh.MarshalAuthorizedKey(host))
	cb, err := knownHostsCallback([]byte(knownHosts))
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
	tests := []struct {
		name     string
		hostname string
		key      ssh.PublicKey
		ok       bool
	}{
		{name: "known host and key", hostname: "git.example.com:22", key: host, ok: true},
		{name: "known host on another port", hostname: "git.example.com:2222", key: host, ok: true},
		{name: "known host, wrong key (a man in the middle)", hostname: "git.example.com:22", key: other},
		{name: "unknown host", hostname: "evil.example.com:22", key: host},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := cb(tc.hostname, addr, tc.key)
			if (err == nil) != tc.ok {
				t.Errorf("callback(%s) = %v, want ok=%t", tc.hostname, err, tc.ok)
			}
		})
	}
	if _, err := knownHostsCallback([]byte("not a known_hosts line at all")); err == nil {
		t.Error("garbage known_hosts was accepted")
	}
}
