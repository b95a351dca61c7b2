package scanner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprinter derives the stable identity of a finding: rule + file + a
// keyed hash of the secret, never the line, so a baseline survives unrelated
// edits.
//
// The key matters because a fingerprint of a low-entropy password is a
// dictionary entry: with an unkeyed hash anyone could test "hunter2" against
// every baseline on the internet. The key is derived from the repository's
// identity (its root commit), which makes fingerprints stable for everyone
// working on the repository and useless across repositories; whoever can
// read the repository can still test guesses against its baseline, unless a
// secret key is also supplied (LATCHKEY_FINGERPRINT_KEY), in which case the
// baseline reveals nothing without that key. docs/scanning.md explains the
// trade-off.
type Fingerprinter struct {
	key []byte
}

// NewFingerprinter derives the key from the repository identity and an
// optional secret.
func NewFingerprinter(repoID string, secret []byte) *Fingerprinter {
	m := hmac.New(sha256.New, append([]byte("latchkey fingerprint v1\x00"), secret...))
	m.Write([]byte(repoID))
	return &Fingerprinter{key: m.Sum(nil)}
}

// Sum fingerprints one finding.
func (f *Fingerprinter) Sum(rule, file, secret string) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(rule))
	m.Write([]byte{0})
	m.Write([]byte(file))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// KeyID names the key without revealing it, so a baseline written with one
// key is not silently compared with fingerprints made with another.
func (f *Fingerprinter) KeyID() string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte("key id"))
	return hex.EncodeToString(m.Sum(nil)[:6])
}
