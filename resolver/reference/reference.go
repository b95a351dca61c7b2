package reference

import (
	"fmt"
	"strings"
)

// Kind says which syntax a reference was written in.
type Kind int

const (
	// AVPPath is an inline placeholder <path:PATH#KEY[#VERSION][ | modifier...]>.
	AVPPath Kind = iota + 1
	// AVPGeneric is a placeholder <KEY[ | modifier...]> whose path comes from the
	// object's avp.kubernetes.io/path annotation.
	AVPGeneric
	// Vals is a vals-style reference ref+vault://PATH[?version=N]#/KEY.
	Vals
)

func (k Kind) String() string {
	switch k {
	case AVPPath:
		return "avp-path"
	case AVPGeneric:
		return "avp-generic"
	case Vals:
		return "vals"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// The argocd-vault-plugin annotations that change how an object is resolved.
const (
	AnnotationPath          = "avp.kubernetes.io/path"
	AnnotationKVVersion     = "avp.kubernetes.io/kv-version"
	AnnotationSecretVersion = "avp.kubernetes.io/secret-version"
	AnnotationIgnore        = "avp.kubernetes.io/ignore"
	AnnotationRemoveMissing = "avp.kubernetes.io/remove-missing"
)

// Ref is one reference found in a string.
type Ref struct {
	Kind Kind
	// Path is the Vault path as written (for KV v2 it may or may not contain
	// "data/"; the resolver normalises it against the mount). Empty for AVPGeneric.
	Path string
	// Key is the field of the secret. For Vals it is the part after "#/", which
	// may itself be a slash-separated path into nested data.
	Key string
	// Version pins a secret version; empty means latest.
	Version string
	// Modifiers are applied in order to the value read from Vault.
	Modifiers []Modifier
	// Start and End are the byte span of the whole reference in the input.
	Start, End int
}

// String renders the reference the way errors and status name it: the path and
// key (and version), never a value.
func (r Ref) String() string {
	var b strings.Builder
	switch r.Kind {
	case AVPGeneric:
		b.WriteString("<")
		b.WriteString(r.Key)
		b.WriteString(">")
		return b.String()
	case Vals:
		b.WriteString("ref+vault://")
		b.WriteString(r.Path)
		if r.Version != "" {
			b.WriteString("?version=")
			b.WriteString(r.Version)
		}
		b.WriteString("#/")
		b.WriteString(r.Key)
		return b.String()
	}
	b.WriteString(r.Path)
	b.WriteString("#")
	b.WriteString(r.Key)
	if r.Version != "" {
		b.WriteString("#")
		b.WriteString(r.Version)
	}
	return b.String()
}

// Whole reports whether the reference spans all of s, ignoring surrounding
// spaces: such a value may be replaced by a non-string (an int, a map), as
// argocd-vault-plugin does for `replicas: <path:...#replicas>`.
func (r Ref) Whole(s string) bool {
	return strings.TrimSpace(s[:r.Start]) == "" && strings.TrimSpace(s[r.End:]) == ""
}
