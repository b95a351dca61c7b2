package reference

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	avpOpen  = "<path:"
	valsOpen = "ref+vault://"
	// maxPlaceholder bounds how far a placeholder may run before its closing
	// '>', so a stray "<path:" in a large file costs little and is reported.
	maxPlaceholder = 4096
)

// SyntaxError is a malformed reference: something that starts like one but
// cannot be read. Offset is the byte offset of its start in the input.
type SyntaxError struct {
	Offset int
	Text   string // the malformed reference, cut to a readable length
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed reference %q at offset %d: %s", e.Text, e.Offset, e.Reason)
}

// Contains reports whether s holds at least one well-formed AVPPath or Vals
// reference. It is the scanner's fast path.
func Contains(s string) bool {
	if !strings.Contains(s, avpOpen) && !strings.Contains(s, valsOpen) {
		return false
	}
	return len(FindAll(s)) > 0
}

// FindAll returns every well-formed AVPPath and Vals reference in s, in order
// of appearance, skipping malformed ones.
func FindAll(s string) []Ref {
	refs, _ := scan(s, false)
	return refs
}

// Parse returns every AVPPath and Vals reference in s and, if any reference is
// malformed, a *SyntaxError for the first one. The resolver uses it so that a
// typo in a placeholder fails the render instead of shipping the literal text.
func Parse(s string) ([]Ref, error) {
	return scan(s, false)
}

// ParseWithGeneric is Parse for objects annotated with avp.kubernetes.io/path:
// there every <KEY> placeholder is a reference too (AVPGeneric).
func ParseWithGeneric(s string) ([]Ref, error) {
	return scan(s, true)
}

// Options select the optional parts of the grammar.
type Options struct {
	// Generic accepts <KEY> placeholders, which only mean something on an
	// object annotated with avp.kubernetes.io/path.
	Generic bool
	// AnyVersion accepts a non-numeric VERSION in <path:PATH#KEY#VERSION>, as
	// argocd-vault-plugin does (its own fixtures pin "#version" on a KV v1
	// mount, where versions are ignored). The resolver still rejects such a
	// version wherever it would be sent to a versioned KV v2 mount.
	AnyVersion bool
}

// ParseWith is Parse with the optional parts of the grammar chosen by o.
func ParseWith(s string, o Options) ([]Ref, error) {
	return scanWith(s, o)
}

// IsGeneric reports whether s, ignoring surrounding spaces, is exactly one
// generic <KEY> placeholder (optionally with modifiers).
func IsGeneric(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) < 3 || t[0] != '<' {
		return false
	}
	ref, end, err := readAngle(t, 0, true, false)
	return err == nil && end == len(t) && ref.Kind == AVPGeneric
}

func scan(s string, generic bool) ([]Ref, error) {
	return scanWith(s, Options{Generic: generic})
}

func scanWith(s string, o Options) ([]Ref, error) {
	generic := o.Generic
	var (
		refs     []Ref
		firstErr error
	)
	for i := 0; i < len(s); {
		var (
			ref Ref
			end int
			err error
		)
		switch {
		case s[i] == '<' && (generic || strings.HasPrefix(s[i:], avpOpen)):
			ref, end, err = readAngle(s, i, generic, o.AnyVersion)
		case s[i] == 'r' && strings.HasPrefix(s[i:], valsOpen):
			ref, end, err = readVals(s, i)
		default:
			i++
			continue
		}
		if err == errNotGeneric {
			i++
			continue
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			i++
			continue
		}
		refs = append(refs, ref)
		i = end
	}
	return refs, firstErr
}

// readAngle reads a <path:...> or (when generic) <KEY> placeholder at s[start].
func readAngle(s string, start int, generic, anyVersion bool) (Ref, int, error) {
	isPath := strings.HasPrefix(s[start:], avpOpen)
	closing := -1
	for j := start + 1; j < len(s) && j-start <= maxPlaceholder; j++ {
		c := s[j]
		if c == '>' {
			closing = j
			break
		}
		if c == '<' || c == '\n' {
			break
		}
	}
	if closing < 0 {
		if !isPath {
			return Ref{}, 0, errNotGeneric
		}
		return Ref{}, 0, syntaxErr(s, start, "no closing '>' on the same line")
	}
	inner := s[start+1 : closing]
	stages := strings.Split(inner, "|")
	head := strings.TrimSpace(stages[0])
	mods, modErr := parseModifiers(stages[1:])

	if isPath {
		ref := Ref{Kind: AVPPath, Start: start, End: closing + 1}
		parts := strings.Split(strings.TrimPrefix(head, "path:"), "#")
		if len(parts) < 2 || len(parts) > 3 {
			return Ref{}, 0, syntaxErr(s, start, "want <path:PATH#KEY> or <path:PATH#KEY#VERSION>")
		}
		ref.Path, ref.Key = strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if ref.Path == "" {
			return Ref{}, 0, syntaxErr(s, start, "empty path")
		}
		if ref.Key == "" {
			return Ref{}, 0, syntaxErr(s, start, "empty key")
		}
		if len(parts) == 3 {
			ref.Version = strings.TrimSpace(parts[2])
			if ref.Version == "" {
				return Ref{}, 0, syntaxErr(s, start, "empty version after the second '#'")
			}
			if err := checkVersion(ref.Version); err != nil && !anyVersion {
				return Ref{}, 0, syntaxErr(s, start, err.Error())
			}
		}
		if modErr != nil {
			return Ref{}, 0, syntaxErr(s, start, modErr.Error())
		}
		ref.Modifiers = mods
		return ref, closing + 1, nil
	}

	// A generic placeholder: <KEY> where KEY is one token. Anything else between
	// angle brackets (HTML, "<none>", prose) is not a reference. Spaces around
	// the key are accepted only before a modifier pipeline, as in
	// argocd-vault-plugin's "<  data | jsonPath {.a} | jsonParse >": a pipeline
	// of known modifiers does not occur in prose, while "a < b > c" does.
	padded := len(inner) > 0 && (inner[0] == ' ' || inner[0] == '\t')
	if head == "" || (padded && len(stages) == 1) || strings.ContainsAny(head, " \t\"'=/:") || modErr != nil {
		return Ref{}, 0, errNotGeneric
	}
	return Ref{Kind: AVPGeneric, Key: head, Modifiers: mods, Start: start, End: closing + 1}, closing + 1, nil
}

// errNotGeneric marks angle-bracketed text that is simply not a placeholder;
// it is not a syntax error, so scan skips it silently.
var errNotGeneric = &SyntaxError{Reason: "not a placeholder"}

// readVals reads ref+vault://PATH[?QUERY][#/KEY][+] at s[start]. The reference
// ends at white space, a quote, or vals' explicit terminator '+'.
func readVals(s string, start int) (Ref, int, error) {
	j := start + len(valsOpen)
	end := j
	for end < len(s) && end-start <= maxPlaceholder && !valsStop(s[end]) {
		end++
	}
	body := s[j:end]
	if end < len(s) && s[end] == '+' {
		end++ // vals' terminator belongs to the reference
	}
	ref := Ref{Kind: Vals, Start: start, End: end}
	pathQuery, key, hasKey := strings.Cut(body, "#")
	path, query, _ := strings.Cut(pathQuery, "?")
	ref.Path = strings.Trim(path, "/")
	if ref.Path == "" {
		return Ref{}, 0, syntaxErr(s, start, "empty path in ref+vault://")
	}
	if hasKey {
		ref.Key = strings.Trim(key, "/")
		if ref.Key == "" {
			return Ref{}, 0, syntaxErr(s, start, "empty key after '#'")
		}
	}
	for _, kv := range strings.Split(query, "&") {
		name, val, _ := strings.Cut(kv, "=")
		if name == "version" {
			if err := checkVersion(val); err != nil {
				return Ref{}, 0, syntaxErr(s, start, err.Error())
			}
			ref.Version = val
		}
	}
	return ref, end, nil
}

func valsStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '+', ',', ';', '<', '>':
		return true
	}
	return false
}

func checkVersion(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("version %q is not a non-negative integer", v)
	}
	return nil
}

func syntaxErr(s string, start int, reason string) *SyntaxError {
	text := s[start:]
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	if len(text) > 80 {
		text = text[:80] + "..."
	}
	return &SyntaxError{Offset: start, Text: text, Reason: reason}
}
