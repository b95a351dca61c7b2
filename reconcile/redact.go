package reconcile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver"
)

// minRedacted is the shortest value redacted wherever it appears. A shorter
// value ("1", "on", "abc") is also a fragment of countless words, numbers and
// names: replacing it everywhere would garble every message. It is redacted
// only where a message quotes a value as a whole (see shortForms).
const minRedacted = 4

// redactor removes the secret values of one resolved set from text that is
// about to leave the process (status, events, logs): an API server
// validation error may quote the value of the field it rejects.
//
// The API server does not quote a value as it was applied: a string is
// printed with Go's %q (field.Error: `Invalid value: "..."`), so a PEM key's
// newlines become `\n` and quotes `\"`; a list or map is printed as JSON
// (with <, > and & as \u003c...); numbers and booleans bare
// (`Invalid value: 3: must be...`); Secret data as base64. Each value is
// redacted in all of these forms.
type redactor struct {
	values []string    // long values and their forms, longest first, so a value that contains another is replaced whole
	short  *shortForms // short values where quoted whole; nil if none
}

// newRedactor collects every value resolution put into resolved: each
// string leaf that differs from the rendered original, plus the data of
// Secrets whose values came from elsewhere (an unsealed SealedSecret: its
// metadata is the template's, not secret), both as written and
// base64-decoded.
func newRedactor(rendered, resolved []*unstructured.Unstructured) *redactor {
	long, short := map[string]bool{}, map[string]bool{}
	add := func(s string) {
		addForms(s, long, short)
		// Secret data is base64: its decoding is the value. Any other
		// string that happens to decode ("shop") yields bytes that are no
		// text; short ones would only garble messages.
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 && (len(b) >= minRedacted || printable(b)) {
			addForms(string(b), long, short)
		}
	}
	for i := range resolved {
		if resolved[i] == nil {
			continue
		}
		var before map[string]any
		if i < len(rendered) && rendered[i] != nil {
			before = rendered[i].Object
		}
		if before != nil && rendered[i].GetKind() != resolved[i].GetKind() {
			// A SealedSecret became a Secret: all of its data is secret.
			collect(nil, resolved[i].Object["data"], add)
			collect(nil, resolved[i].Object["stringData"], add)
			continue
		}
		collect(before, resolved[i].Object, add)
	}
	r := &redactor{}
	for v := range long {
		r.values = append(r.values, v)
	}
	longestFirst(r.values)
	r.short = newShortForms(short)
	return r
}

// addForms records value v in the forms a message may carry it in: as is,
// escaped as inside Go's %q (and its ASCII-only %+q), escaped as inside a
// JSON string (with and without HTML escaping), and base64-encoded.
func addForms(v string, long, short map[string]bool) {
	if v == "" {
		return
	}
	if len(v) < minRedacted {
		short[v] = true
		long[base64.StdEncoding.EncodeToString([]byte(v))] = true // "MQ==" is not a word
		return
	}
	forms := []string{
		v,
		unquoted(strconv.Quote(v)),
		unquoted(strconv.QuoteToASCII(v)),
		unquoted(jsonString(v, true)),
		unquoted(jsonString(v, false)),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawStdEncoding.EncodeToString([]byte(v)),
	}
	for _, f := range forms {
		if len(f) >= minRedacted {
			long[f] = true
		}
	}
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func unquoted(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

func jsonString(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// shortForms are the short values where a message quotes one as a whole:
// as a Go or JSON quoted string ("1", with the same escapes as above) or
// single-quoted ('1'), replaced anywhere; and bare after ": " up to the next
// ":", ",", ";", ")", "]", space, newline or the end, which is how
// field.Error prints a number or a boolean
// (`spec.replicas: Invalid value: 3: must be...`). A short value inside a
// word or a longer token ("10s", "v1", "line 3") is kept. Matching is on
// bytes, not a regular expression: a value need not be valid UTF-8.
type shortForms struct {
	quoted []string // longest first
	bare   []string // longest first
}

func newShortForms(short map[string]bool) *shortForms {
	if len(short) == 0 {
		return nil
	}
	quoted := map[string]bool{}
	sf := &shortForms{}
	for v := range short {
		quoted[strconv.Quote(v)] = true
		quoted[strconv.QuoteToASCII(v)] = true
		quoted[jsonString(v, true)] = true
		quoted[jsonString(v, false)] = true
		quoted["'"+v+"'"] = true
		sf.bare = append(sf.bare, v)
	}
	for q := range quoted {
		sf.quoted = append(sf.quoted, q)
	}
	longestFirst(sf.quoted)
	longestFirst(sf.bare)
	return sf
}

func longestFirst(s []string) {
	sort.Slice(s, func(i, j int) bool {
		if len(s[i]) != len(s[j]) {
			return len(s[i]) > len(s[j])
		}
		return s[i] < s[j]
	})
}

func (sf *shortForms) redact(s string) string {
	for _, q := range sf.quoted {
		if strings.Contains(s, q) {
			s = strings.ReplaceAll(s, q, `"<redacted>"`)
		}
	}
	for _, v := range sf.bare {
		s = redactBare(s, v)
	}
	return s
}

// redactBare replaces v where it follows ": " and ends at a delimiter.
func redactBare(s, v string) string {
	needle := ": " + v
	var b strings.Builder
	for {
		i := strings.Index(s, needle)
		if i < 0 {
			break
		}
		end := i + len(needle)
		if end == len(s) || strings.IndexByte(":,;)] \n", s[end]) >= 0 {
			b.WriteString(s[:i])
			b.WriteString(": <redacted>")
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
	b.WriteString(s)
	return b.String()
}

// collect adds every scalar of after that differs from before.
func collect(before, after any, add func(string)) {
	resolver.Written("", before, after, func(_, value string) { add(value) })
}

// String redacts s.
func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	if r.short != nil {
		s = r.short.redact(s)
	}
	return s
}

// Error returns err with every value redacted from its message; the
// original error is dropped when anything was redacted, so no caller can
// unwrap its way back to the value.
func (r *redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		// The text changes; the reason the failing step gave stays.
		var se *stepError
		if errors.As(err, &se) {
			return failed(se.reason, errors.New(red))
		}
		return errors.New(red)
	}
	return err
}
