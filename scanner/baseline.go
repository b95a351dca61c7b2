package scanner

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// Baseline is a set of accepted findings, identified by fingerprint (rule,
// file and keyed hash of the secret), so moving a line does not churn it.
//
// Version 1 keyed fingerprints with the repository's root commit, which a
// shallow clone or a copy without .git does not have. Version 2 stores a
// random salt in the file instead: it works in any checkout, and reveals no
// more than the root commit did (both are readable by whoever reads the
// repository; LATCHKEY_FINGERPRINT_KEY is what makes a baseline opaque).
type Baseline struct {
	Version int `json:"version"`
	// KeyID names the fingerprint key the baseline was written with.
	KeyID string `json:"keyId"`
	// Salt (version 2) keys the fingerprints in place of the root commit.
	Salt string `json:"salt,omitempty"`
	// Keyed records that LATCHKEY_FINGERPRINT_KEY was set when it was
	// written, so a scan without it names the cause.
	Keyed    bool            `json:"keyed,omitempty"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. Rule and File are informational:
// the fingerprint already covers them.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file"`
}

// ReadBaseline reads a baseline file.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("baseline %s does not exist: write it with latchkey scan --write-baseline %s", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parsing baseline %s: %w (write it again with latchkey scan --write-baseline %s)", path, err, path)
	}
	switch {
	case b.Version == 2 && b.Salt == "":
		return nil, fmt.Errorf("baseline %s: version 2 without a salt (write it again with latchkey scan --write-baseline %s)", path, path)
	case b.Version != 1 && b.Version != 2:
		return nil, fmt.Errorf("baseline %s: unsupported version %d (this latchkey reads 1 and 2; upgrade latchkey or write the baseline again)", path, b.Version)
	}
	return &b, nil
}

// Fingerprinter returns the fingerprinter a scan must use to match this
// baseline, or an error naming why it cannot match: the root commit missing
// (version 1 in a shallow clone or outside Git), or another
// LATCHKEY_FINGERPRINT_KEY.
func (b *Baseline) Fingerprinter(path string, id Identity, secret []byte) (*Fingerprinter, error) {
	rewrite := fmt.Sprintf("latchkey scan --write-baseline %s", path)
	var fp *Fingerprinter
	if b.Version == 1 {
		if id.ID == "" {
			return nil, fmt.Errorf("baseline %s (version 1) is keyed by the repository's root commit, and %s: "+
				"fetch the full history (git fetch --unshallow; in GitHub Actions, actions/checkout with fetch-depth: 0), "+
				"or rewrite it once as version 2, which works in any checkout: %s", path, id.Missing, rewrite)
		}
		fp = NewFingerprinter(id.ID, secret)
	} else {
		fp = NewFingerprinter("salt:"+b.Salt, secret)
	}
	if b.KeyID == fp.KeyID() {
		return fp, nil
	}
	switch {
	case b.Keyed && len(secret) == 0:
		return nil, fmt.Errorf("baseline %s was written with LATCHKEY_FINGERPRINT_KEY set, and it is not set for this scan: "+
			"export the same LATCHKEY_FINGERPRINT_KEY (a CI secret), or rewrite the baseline: %s", path, rewrite)
	case b.Version == 2 && !b.Keyed && len(secret) > 0:
		return nil, fmt.Errorf("baseline %s was written without LATCHKEY_FINGERPRINT_KEY, and it is set for this scan: "+
			"unset it, or rewrite the baseline with it: %s", path, rewrite)
	case b.Version == 2:
		return nil, fmt.Errorf("baseline %s was written with another LATCHKEY_FINGERPRINT_KEY (key id %s, this scan uses %s): "+
			"use the key it was written with, or rewrite it: %s", path, b.KeyID, fp.KeyID(), rewrite)
	}
	return nil, fmt.Errorf("baseline %s (version 1) was written in a repository with other root commits, or with another "+
		"LATCHKEY_FINGERPRINT_KEY (key id %s, this scan uses %s): check LATCHKEY_FINGERPRINT_KEY, or rewrite it: %s",
		path, b.KeyID, fp.KeyID(), rewrite)
}

// NewSalt returns a fresh random salt for a version 2 baseline.
func NewSalt() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// SaltFingerprinter is the fingerprinter of a version 2 baseline.
func SaltFingerprinter(salt string, secret []byte) *Fingerprinter {
	return NewFingerprinter("salt:"+salt, secret)
}

// NewBaseline records findings as accepted, in a version 2 baseline keyed by
// salt (fp must be SaltFingerprinter(salt, secret)).
func NewBaseline(salt string, keyed bool, fp *Fingerprinter, findings []Finding) *Baseline {
	b := &Baseline{Version: 2, KeyID: fp.KeyID(), Salt: salt, Keyed: keyed, Findings: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, f := range findings {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		b.Findings = append(b.Findings, BaselineEntry{Fingerprint: f.Fingerprint, Rule: f.RuleID, File: f.File})
	}
	sort.Slice(b.Findings, func(i, j int) bool {
		x, y := b.Findings[i], b.Findings[j]
		if x.File != y.File {
			return x.File < y.File
		}
		return x.Fingerprint < y.Fingerprint
	})
	return b
}

// Write stores the baseline as indented JSON.
func (b *Baseline) Write(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing baseline: %w", err)
	}
	return nil
}

// Filter drops the findings the baseline accepts.
func (b *Baseline) Filter(findings []Finding) []Finding {
	known := make(map[string]bool, len(b.Findings))
	for _, e := range b.Findings {
		known[e.Fingerprint] = true
	}
	out := findings[:0:0]
	for _, f := range findings {
		if !known[f.Fingerprint] {
			out = append(out, f)
		}
	}
	return out
}
