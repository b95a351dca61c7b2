package report

import (
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner"
)

// Tool describes the scanner in SARIF output.
type Tool struct {
	Name    string
	Version string
	URI     string
	// Rules maps rule IDs to descriptions.
	Rules map[string]string
}

// The subset of SARIF 2.1.0 that GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifLevel     `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifLevel struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndColumn   int `json:"endColumn,omitempty"`
}

// SARIF writes a SARIF 2.1.0 log. Artifact URIs are relative to the scan root
// (uriBaseId %SRCROOT%), as GitHub code scanning expects.
func SARIF(w io.Writer, findings []scanner.Finding, tool Tool) error {
	ids := map[string]int{}
	var ruleIDs []string
	for _, f := range findings {
		if _, ok := ids[f.RuleID]; !ok {
			ids[f.RuleID] = 0
			ruleIDs = append(ruleIDs, f.RuleID)
		}
	}
	sort.Strings(ruleIDs)
	driver := sarifDriver{Name: tool.Name, Version: tool.Version, InformationURI: tool.URI, Rules: []sarifRule{}}
	for i, id := range ruleIDs {
		ids[id] = i
		desc := tool.Rules[id]
		if desc == "" {
			desc = "Plaintext secret (" + id + ")."
		}
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   id,
			Name:                 ruleName(id),
			ShortDescription:     sarifText{strings.TrimSuffix(desc, ".")},
			FullDescription:      sarifText{desc},
			Help:                 sarifText{desc + " Replace plaintext with a Vault reference (<path:secret/data/APP#KEY>) or seal it with latchkey seal, and rotate the exposed value."},
			DefaultConfiguration: sarifLevel{"error"},
			Properties:           map[string]any{"tags": []string{"security", "secrets"}, "security-severity": "8.0", "precision": "high"},
		})
	}
	results := make([]sarifResult, 0, len(findings))
	for _, f := range findings {
		r := sarifResult{
			RuleID:    f.RuleID,
			RuleIndex: ids[f.RuleID],
			Level:     "error",
			Message:   sarifText{f.Description + " (" + f.Secret + "). Fix: " + f.Fix},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: relURI(f.File), URIBaseID: "%SRCROOT%"},
				Region:           sarifRegion{StartLine: max(f.Line, 1), StartColumn: max(f.Column, 1)},
			}}},
			PartialFingerprints: map[string]string{"latchkeyFingerprint/v1": f.Fingerprint},
		}
		if f.Length > 0 {
			r.Locations[0].PhysicalLocation.Region.EndColumn = max(f.Column, 1) + f.Length
		}
		if f.Commit != "" {
			r.Properties = map[string]string{"commit": f.Commit}
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	})
}

// relURI percent-encodes a root-relative slash path segment by segment.
func relURI(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// ruleName turns "kubernetes-secret" into "KubernetesSecret" (SARIF names are
// identifiers).
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
