package source

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Credentials authenticate to a Git host, as read from a Sync's
// spec.source.secretRef Secret.
type Credentials struct {
	// Username and Password (or a token as the password) for HTTP(S).
	Username, Password string
	// Identity is a PEM private key and KnownHosts the known_hosts lines that
	// verify the server, for SSH. An SSH URL without KnownHosts is refused.
	Identity, KnownHosts []byte
}

// Secret keys of a Git credentials Secret, as Flux names them.
const (
	KeyUsername   = "username"
	KeyPassword   = "password"
	KeyIdentity   = "identity"
	KeyKnownHosts = "known_hosts"
)

// CredentialsFromSecret reads Credentials from the data of a Secret.
func CredentialsFromSecret(data map[string][]byte) *Credentials {
	return &Credentials{
		Username:   string(data[KeyUsername]),
		Password:   string(data[KeyPassword]),
		Identity:   data[KeyIdentity],
		KnownHosts: data[KeyKnownHosts],
	}
}

// fingerprintKey keys the fingerprints of credentials, so that cache keys
// distinguish credentials without being a hash anyone could test a guess
// against.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k
}()

// fingerprint tells credentials apart in cache keys: a snapshot fetched with
// one Secret's credentials is never served to a Sync that has other (or no)
// credentials.
func (c *Credentials) fingerprint() string {
	if c == nil {
		return "anonymous"
	}
	m := hmac.New(sha256.New, fingerprintKey)
	for _, part := range [][]byte{[]byte(c.Username), []byte(c.Password), c.Identity, c.KnownHosts} {
		fmt.Fprintf(m, "%d:", len(part))
		m.Write(part)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// method builds the go-git auth method for url's scheme.
func (c *Credentials) method(scheme string) (transport.AuthMethod, error) {
	switch scheme {
	case "http", "https":
		if c == nil || (c.Username == "" && c.Password == "") {
			return nil, nil
		}
		user := c.Username
		if user == "" {
			user = "git" // token-only credentials: most hosts accept any user name
		}
		return &githttp.BasicAuth{Username: user, Password: c.Password}, nil
	case "ssh":
		if c == nil || len(c.Identity) == 0 {
			return nil, errors.New("an ssh:// URL needs a secretRef with identity and known_hosts")
		}
		if len(bytes.TrimSpace(c.KnownHosts)) == 0 {
			return nil, errors.New("the Git credentials Secret has no known_hosts: refusing to connect to an unverified SSH host")
		}
		user := c.Username
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeys(user, c.Identity, c.Password)
		if err != nil {
			return nil, fmt.Errorf("reading the SSH identity: %w", err)
		}
		cb, err := knownHostsCallback(c.KnownHosts)
		if err != nil {
			return nil, err
		}
		keys.HostKeyCallback = cb
		return keys, nil
	}
	return nil, fmt.Errorf("unsupported URL scheme %q", scheme)
}

// knownHostsCallback verifies SSH host keys against known_hosts content held
// in memory (x/crypto's knownhosts only reads files).
func knownHostsCallback(content []byte) (ssh.HostKeyCallback, error) {
	type entry struct {
		hosts []string
		key   ssh.PublicKey
	}
	var entries []entry
	for rest := content; len(bytes.TrimSpace(rest)) > 0; {
		_, hosts, key, _, next, err := ssh.ParseKnownHosts(rest)
		if err != nil {
			return nil, fmt.Errorf("parsing known_hosts: %w", err)
		}
		entries = append(entries, entry{hosts: hosts, key: key})
		rest = next
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		want := []string{knownhosts.Normalize(hostname)}
		if remote != nil {
			want = append(want, knownhosts.Normalize(remote.String()))
		}
		for _, e := range entries {
			for _, h := range e.hosts {
				for _, w := range want {
					if h == w && bytes.Equal(e.key.Marshal(), key.Marshal()) {
						return nil
					}
				}
			}
		}
		// The presented key's fingerprint, to compare with the one the
		// host publishes: a changed key is either a rotation or a man in
		// the middle, and only a person can tell which.
		return fmt.Errorf("ssh: host key of %s (%s) is not in known_hosts: if the host's key changed, check it against the fingerprints the host publishes and update known_hosts in the Secret of spec.source.secretRef",
			hostname, ssh.FingerprintSHA256(key))
	}, nil
}
