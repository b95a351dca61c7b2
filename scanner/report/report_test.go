package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/scanner"
)

const canary = "Canary-7f3a9c1e5b"

// findings are produced by the real scanner so the report sees real shapes.
func findings(t *testing.T) []scanner.Finding {
	t.Helper()
	sc, err := scanner.New(scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := sc.ScanFile(&scanner.File{Path: "apps/my app/values.yaml"}, []byte("auth:\n  password: "+canary+"\n"))
	b := sc.ScanFile(&scanner.File{Path: "docs/run.md", Commit: "0123456789abcdef0123456789abcdef01234567"},
		[]byte("token ghp_0123456789abcdefghijABCDEFGHIJ012345\n"))
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("setup: %d and %d findings", len(a), len(b))
	}
	return append(a, b...)
}

func TestSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := SARIF(&buf, findings(t), Tool{Name: "latchkey", Version: "test", Rules: map[string]string{"github-token": "GitHub token"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), canary) || strings.Contains(buf.String(), "abcdefghijABCDEFGHIJ") {
		t.Fatal("SARIF carries a secret")
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct{ Text string }
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
							EndColumn   int `json:"endColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log: version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "latchkey" || len(run.Results) != 2 {
		t.Fatalf("driver %q, %d results", run.Tool.Driver.Name, len(run.Results))
	}
	wantURI := map[string]bool{"apps/my%20app/values.yaml": true, "docs/run.md": true}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d (%s)", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		loc := r.Locations[0].PhysicalLocation
		if !wantURI[loc.ArtifactLocation.URI] || loc.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("uri %q (base %q): want a root-relative, percent-encoded path", loc.ArtifactLocation.URI, loc.ArtifactLocation.URIBaseID)
		}
		if loc.Region.StartLine < 1 || loc.Region.StartColumn < 1 || loc.Region.EndColumn <= loc.Region.StartColumn {
			t.Errorf("bad region %+v", loc.Region)
		}
		if r.Level != "error" || r.Message.Text == "" || len(r.PartialFingerprints) != 1 {
			t.Errorf("result %+v lacks level, message or fingerprint", r)
		}
	}
}

func TestTextAndJSONMaskSecrets(t *testing.T) {
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Write(&buf, format, findings(t), Tool{Name: "latchkey"}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, canary) || strings.Contains(out, "abcdefghijABCDEFGHIJ") {
			t.Errorf("%s output carries a secret:\n%s", format, out)
		}
		if !strings.Contains(out, "values.yaml") {
			t.Errorf("%s output lacks the file", format)
		}
	}
	var buf bytes.Buffer
	if err := Text(&buf, findings(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "apps/my app/values.yaml:2:13: helm-values-secret:") || !strings.Contains(buf.String(), "0123456789ab:docs/run.md:1:7: github-token:") {
		t.Errorf("text report:\n%s", buf.String())
	}
	if err := Write(&buf, "xml", nil, Tool{}); err == nil {
		t.Error("unknown format accepted")
	}
}
