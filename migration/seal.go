package migration

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/sealing"
)

// SealPlan is what `--fix seal` will do: each plaintext Secret document
// becomes a SealedSecret document in the same place of the same file.
type SealPlan struct {
	Root    string
	Secrets []*SealedDoc
	Skipped []Skip
}

// SealedDoc is one Secret to seal.
type SealedDoc struct {
	File   string
	Line   int
	Object Object
	// Keys are the literal keys found (every key of the Secret that is not
	// a reference is sealed).
	Keys []string
	// refs are the keys whose values are references, kept as they are in
	// spec.template.data (see seal_refs.go).
	refs       map[string]string
	start, end int // the document's bytes
	doc        []byte
}

// PlanSeal groups the Secret sites by document; other sites are left alone.
func PlanSeal(root string, sites []*Site, skipped []Skip) (*SealPlan, error) {
	p := &SealPlan{Root: root, Skipped: skipped}
	docs := map[string]*SealedDoc{}
	texts := map[string]*text{}
	for _, s := range sites {
		if s.Form != SecretData && s.Form != SecretStringData {
			p.Skipped = append(p.Skipped, Skip{File: s.File, Line: s.Line, Reason: fmt.Sprintf("a %s, not a Secret: --fix seal seals Secrets only; use --fix vault", s.Form)})
			continue
		}
		t, ok := texts[s.File]
		if !ok {
			data, err := readFile(root, s.File)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", s.File, err)
			}
			t = newText(data)
			texts[s.File] = t
		}
		start, end, ok := documentSpan(t, s.start)
		if !ok {
			p.Skipped = append(p.Skipped, Skip{File: s.File, Line: s.Line, Reason: "the Secret's document could not be delimited (--- separators): move it to a file of its own"})
			continue
		}
		start = pastComments(t, start, end)
		id := fmt.Sprintf("%s@%d", s.File, start)
		d, ok := docs[id]
		if !ok {
			d = &SealedDoc{File: s.File, Line: t.line(start), Object: s.Object, start: start, end: end, doc: t.data[start:end]}
			refs, reason := referenceKeys(d.doc)
			if reason != "" {
				p.Skipped = append(p.Skipped, Skip{File: s.File, Line: s.Line, Reason: reason})
				continue
			}
			d.refs = refs
			docs[id] = d
			p.Secrets = append(p.Secrets, d)
		}
		d.Keys = append(d.Keys, s.Key)
	}
	return p, nil
}

// documentSpan is the byte span of the YAML document holding offset off,
// between "---" lines.
func documentSpan(t *text, off int) (start, end int, ok bool) {
	start, end = 0, len(t.data)
	for n := 1; n <= len(t.lineStarts); n++ {
		s, e := t.lineSpan(n)
		line := string(t.data[s:e])
		if line == "..." {
			return 0, 0, false // explicit document ends: left to a human
		}
		if line != "---" && !strings.HasPrefix(line, "--- ") {
			continue
		}
		if s > off {
			return start, s, true
		}
		start = min(e+1, len(t.data))
		if e < len(t.data) && t.data[e] == '\r' {
			start = min(e+2, len(t.data))
		}
	}
	return start, end, true
}

// pastComments skips the comment and blank lines a document opens with:
// they describe the Secret and stay above the SealedSecret.
func pastComments(t *text, start, end int) int {
	for n := t.line(start); start < end; n++ {
		s, e := t.lineSpan(n)
		line := strings.TrimSpace(string(t.data[s:e]))
		if line != "" && !strings.HasPrefix(line, "#") {
			return s
		}
		if n >= len(t.lineStarts) {
			return start
		}
		start = t.lineStarts[n]
	}
	return start
}

// Sealed is what a seal write did.
type Sealed struct {
	Files []string
}

// Write seals each Secret with pub (kubeseal's code and format) and replaces
// its document in place. defaultNS is the namespace of Secrets that name
// none (strict and namespace-wide scopes bind to it).
func (p *SealPlan) Write(pub *rsa.PublicKey, scope sealing.Scope, defaultNS string) (*Sealed, error) {
	byFile := map[string][]*SealedDoc{}
	for _, d := range p.Secrets {
		byFile[d.File] = append(byFile[d.File], d)
	}
	w := &Sealed{}
	for _, file := range slices.Sorted(mapKeys(byFile)) {
		data, err := readFile(p.Root, file)
		if err != nil {
			return w, fmt.Errorf("reading %s: %w", file, err)
		}
		t := newText(data)
		var edits []edit
		for _, d := range byFile[file] {
			if !bytes.Equal(data[d.start:d.end], d.doc) {
				return w, fmt.Errorf("%s changed since it was planned: run again", file)
			}
			literals, err := withoutKeys(d.doc, d.refs)
			if err != nil {
				return w, fmt.Errorf("sealing Secret %s in %s: %w", d.Object.Name, file, err)
			}
			var out bytes.Buffer
			err = sealing.SealStream(bytes.NewReader(literals), &out, pub, sealing.SealOptions{Format: "yaml", Scope: scope, Namespace: defaultNS})
			if err != nil {
				return w, fmt.Errorf("sealing Secret %s in %s: %w", d.Object.Name, file, err)
			}
			kept, err := keepReferences(out.Bytes(), d.refs)
			if err != nil {
				return w, fmt.Errorf("keeping the references of Secret %s in %s: %w", d.Object.Name, file, err)
			}
			sealed := strings.TrimPrefix(string(kept), "---\n")
			if !strings.HasSuffix(sealed, "\n") {
				sealed += "\n"
			}
			if nl := t.newline(); nl != "\n" {
				sealed = strings.ReplaceAll(sealed, "\n", nl)
			}
			edits = append(edits, edit{start: d.start, end: d.end, text: sealed})
		}
		out, ok := applyEdits(data, edits)
		if !ok {
			return w, fmt.Errorf("%s: overlapping documents (a bug: please report it); the file was left alone", file)
		}
		if err := writeAtomic(p.Root, file, out); err != nil {
			return w, err
		}
		w.Files = append(w.Files, file)
	}
	return w, nil
}

// Print writes the seal plan, never a value.
func (p *SealPlan) Print(w io.Writer) {
	fmt.Fprintf(w, "latchkey scan --fix seal: %d Secret(s) to seal, %d finding(s) left alone\n", len(p.Secrets), len(p.Skipped))
	for _, d := range p.Secrets {
		kept := ""
		if len(d.refs) > 0 {
			kept = "; references kept in spec.template.data: " + strings.Join(slices.Sorted(mapKeys(d.refs)), ", ")
		}
		fmt.Fprintf(w, "  %s:%d → SealedSecret %s (keys with plaintext: %s%s)\n", d.File, d.Line, d.Object, strings.Join(d.Keys, ", "), kept)
	}
	printSkipped(w, p.Skipped)
}
