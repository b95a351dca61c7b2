package resolver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Provenance says where the values of one resolved object came from.
type Provenance struct {
	Refs []RefProvenance
}

// Source names the backend a value came from.
type Source string

const (
	SourceVault        Source = "vault"
	SourceSealedSecret Source = "sealed-secret"
)

// RefProvenance records one value an object received: the reference, the
// exact secret version read and a keyed HMAC of the value. It never holds the
// value, nor an unkeyed hash of it, which would let anyone who sees the
// status confirm a guess.
type RefProvenance struct {
	Source Source
	// Reference is the reference as written ("secret/data/db#password",
	// "<password>"); for a SealedSecret, the key of its encryptedData.
	Reference string
	// Field is the first place in the object the value went to; Fields is
	// every place it went to, Field first (a reference written twice in an
	// object is recorded once).
	Field  string
	Fields []string
	// Location and Key identify the secret field in the backend (Vault only).
	Location Location
	Key      string
	// Version is the KV v2 version read (0 on KV v1 and for SealedSecrets);
	// Pinned is true when the manifest asked for that version explicitly, so
	// a rotation of the secret does not concern this object.
	Version int
	Pinned  bool
	// HMAC is hex HMAC-SHA256 of the value under the caller's key (Options.HMACKey),
	// taken over the value as stored, before modifiers; empty without a key.
	HMAC string
}

func (r *Resolver) mac(value []byte) string {
	if len(r.opts.HMACKey) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, r.opts.HMACKey)
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil))
}

// provenanceSet deduplicates the records of one object, keeping every field
// each reference went to.
type provenanceSet struct {
	refs []RefProvenance
	seen map[string]int // index in refs
}

func (p *provenanceSet) add(rp RefProvenance) {
	if p.seen == nil {
		p.seen = map[string]int{}
	}
	k := string(rp.Source) + "\x00" + rp.Location.Key().String() + "\x00" + rp.Key + "\x00" + rp.Reference
	if i, ok := p.seen[k]; ok {
		if !slices.Contains(p.refs[i].Fields, rp.Field) {
			p.refs[i].Fields = append(p.refs[i].Fields, rp.Field)
		}
		return
	}
	p.seen[k] = len(p.refs)
	rp.Fields = []string{rp.Field}
	p.refs = append(p.refs, rp)
}
