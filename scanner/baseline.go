package scanner

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Baseline is a set of accepted findings, identified by fingerprint (rule,
// file and keyed hash of the secret), so moving a line does not churn it.
type Baseline struct {
	Version int `json:"version"`
	// KeyID names the fingerprint key the baseline was written with.
	KeyID    string          `json:"keyId"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. Rule and File are informational:
// the fingerprint already covers them.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file"`
}

// LoadBaseline reads a baseline and checks it was made with fp's key.
func LoadBaseline(path string, fp *Fingerprinter) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parsing baseline %s: %w", path, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("baseline %s: unsupported version %d", path, b.Version)
	}
	if b.KeyID != fp.KeyID() {
		return nil, fmt.Errorf("baseline %s was written with another fingerprint key (key id %s, this scan uses %s): "+
			"check LATCHKEY_FINGERPRINT_KEY, or write the baseline again", path, b.KeyID, fp.KeyID())
	}
	return &b, nil
}

// NewBaseline records findings as accepted.
func NewBaseline(fp *Fingerprinter, findings []Finding) *Baseline {
	b := &Baseline{Version: 1, KeyID: fp.KeyID(), Findings: []BaselineEntry{}}
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
