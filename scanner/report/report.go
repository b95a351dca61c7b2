// Package report renders scanner findings for people (text) and for
// machines (JSON, and SARIF 2.1.0 for GitHub code scanning).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner"
)

// Formats lists the supported output formats.
var Formats = []string{"text", "json", "sarif"}

// Write renders findings in format.
func Write(w io.Writer, format string, findings []scanner.Finding, tool Tool) error {
	switch format {
	case "text":
		return Text(w, findings)
	case "json":
		return JSON(w, findings)
	case "sarif":
		return SARIF(w, findings, tool)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// Text writes one block per finding:
//
//	path:line:col: rule-id: description
//	    secret: hunt*****
//	    fix: ...
func Text(w io.Writer, findings []scanner.Finding) error {
	for _, f := range findings {
		loc := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
		if f.Commit != "" {
			loc = f.Commit[:min(12, len(f.Commit))] + ":" + loc
		}
		if _, err := fmt.Fprintf(w, "%s: %s: %s\n    secret: %s\n    fix: %s\n", loc, f.RuleID, f.Description, f.Secret, f.Fix); err != nil {
			return err
		}
	}
	return nil
}

// JSON writes {"findings": [...]}; secrets are masked as in the text form.
func JSON(w io.Writer, findings []scanner.Finding) error {
	if findings == nil {
		findings = []scanner.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Findings []scanner.Finding `json:"findings"`
	}{findings})
}
