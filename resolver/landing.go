package resolver

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Landing says where in an object a resolved value went, which decides
// whether it may go there.
type Landing int

const (
	// InSecret is the data or stringData of a core Secret (an unsealed
	// SealedSecret is one): where secret values belong, readable only by
	// whoever may read Secrets.
	InSecret Landing = iota
	// InMetadata is apiVersion, kind or metadata (name, generateName,
	// namespace, labels, annotations...). These identify and describe the
	// object: they are copied into the inventory, the status history, events,
	// logs and every list of that kind, none of which is a secret. Never
	// acceptable for a value.
	InMetadata
	// OutsideSecret is any other field: a ConfigMap's data, an env literal
	// of a workload, any field of a kind that is not a Secret, a Secret's
	// fields other than data. Readable by everyone who can read that kind,
	// and reported in plain by drift diffs. Acceptable only by choice.
	OutsideSecret
)

func (l Landing) String() string {
	switch l {
	case InSecret:
		return "in a Secret's data"
	case InMetadata:
		return "in metadata"
	}
	return "outside a Secret"
}

// LandingOf classifies field (as provenance writes it: "data.password",
// "metadata.labels.tier", `metadata.annotations["a.b/c"]`) of obj, the
// resolved object.
func LandingOf(obj *unstructured.Unstructured, field string) Landing {
	top := field
	if i := strings.IndexAny(field, ".["); i >= 0 {
		top = field[:i]
	}
	switch top {
	case "apiVersion", "kind", "metadata":
		return InMetadata
	case "data", "stringData":
		gvk := obj.GroupVersionKind()
		if gvk.Group == "" && gvk.Kind == "Secret" {
			return InSecret
		}
	}
	return OutsideSecret
}

// Misplaced is one value that went somewhere other than a Secret's data.
type Misplaced struct {
	// Index is the object's position in the Result.
	Index int
	// Object names the object as rendered, before resolution: a name that
	// is itself a reference is shown as the reference, never as its value.
	Object  ObjectRef
	Field   string
	Ref     string // the reference as written
	Landing Landing
}

func (m Misplaced) String() string {
	return m.Object.String() + " field " + m.Field + ": " + m.Ref + " resolves " + m.Landing.String()
}

// MisplacedValues lists, in object order, every value of res that landed in
// metadata or outside a Secret's data. rendered is the input Resolve was
// given (it names the objects), origin the same function.
func MisplacedValues(rendered []*unstructured.Unstructured, res *Result, origin func(i int) string) []Misplaced {
	var out []Misplaced
	for i, p := range res.Provenance {
		if i >= len(res.Objects) || i >= len(rendered) {
			break
		}
		o := ""
		if origin != nil {
			o = origin(i)
		}
		for _, ref := range p.Refs {
			fields := ref.Fields
			if len(fields) == 0 {
				fields = []string{ref.Field}
			}
			for _, f := range fields {
				if l := LandingOf(res.Objects[i], f); l != InSecret {
					out = append(out, Misplaced{Index: i, Object: objectRefOf(rendered[i], o), Field: f, Ref: ref.Reference, Landing: l})
				}
			}
		}
	}
	return out
}
