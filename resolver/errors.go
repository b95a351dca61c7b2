package resolver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ObjectRef names an object in messages: kind, namespace/name and, when the
// caller knows it, the file (and line) it came from.
type ObjectRef struct {
	Kind      string
	Namespace string
	Name      string
	Origin    string // "apps/db/secret.yaml:12"; empty when unknown
}

func objectRefOf(obj *unstructured.Unstructured, origin string) ObjectRef {
	return ObjectRef{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Origin: origin}
}

func (o ObjectRef) String() string {
	var b strings.Builder
	kind := o.Kind
	if kind == "" {
		kind = "object"
	}
	b.WriteString(kind)
	b.WriteByte(' ')
	if o.Namespace != "" {
		b.WriteString(o.Namespace)
		b.WriteByte('/')
	}
	if o.Name != "" {
		b.WriteString(o.Name)
	} else {
		b.WriteString("<unnamed>")
	}
	if o.Origin != "" {
		b.WriteString(" (")
		b.WriteString(o.Origin)
		b.WriteByte(')')
	}
	return b.String()
}

// Failure is one reference (or one object) that could not be resolved.
type Failure struct {
	Object ObjectRef
	// Field is where in the object the reference sits ("data.password",
	// "spec.template.spec.containers[0].image"); empty for object-level problems.
	Field string
	// Ref is the reference as written ("secret/data/db#password", "<token>"),
	// never a value; empty for object-level problems.
	Ref string
	// Problem says what failed; Fix says what to do about it.
	Problem string
	Fix     string
}

func (f Failure) String() string {
	var b strings.Builder
	b.WriteString(f.Object.String())
	if f.Field != "" {
		b.WriteString(" field ")
		b.WriteString(f.Field)
	}
	b.WriteString(": ")
	if f.Ref != "" {
		b.WriteString(f.Ref)
		b.WriteString(": ")
	}
	b.WriteString(f.Problem)
	if f.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(f.Fix)
		b.WriteByte(')')
	}
	return b.String()
}

// Error is the one error Resolve returns: every failure of the set, in the
// order of the input objects. When it is returned no object is.
type Error struct {
	Failures []Failure
}

func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Failures)
	noun := "references"
	if n == 1 {
		noun = "reference"
	}
	fmt.Fprintf(&b, "%d %s could not be resolved; nothing was rendered:", n, noun)
	for _, f := range e.Failures {
		b.WriteString("\n  - ")
		b.WriteString(f.String())
	}
	return b.String()
}

// failures collects failures during one Resolve, keyed so that the same
// problem reported twice for the same place is listed once.
type failures struct {
	list  []Failure
	index []int // input position of each failure's object, to list them in input order
	seen  map[string]bool
}

func (fs *failures) add(index int, f Failure) {
	if fs.seen == nil {
		fs.seen = map[string]bool{}
	}
	k := strconv.Itoa(index) + "\x00" + f.String()
	if fs.seen[k] {
		return
	}
	fs.seen[k] = true
	fs.list = append(fs.list, f)
	fs.index = append(fs.index, index)
}

func (fs *failures) err() error {
	if len(fs.list) == 0 {
		return nil
	}
	order := make([]int, len(fs.list))
	for i := range order {
		order[i] = i
	}
	// Input order, then field order within an object.
	sort.SliceStable(order, func(a, b int) bool {
		ia, ib := fs.index[order[a]], fs.index[order[b]]
		if ia != ib {
			return ia < ib
		}
		return fs.list[order[a]].Field < fs.list[order[b]].Field
	})
	list := make([]Failure, len(order))
	for i, j := range order {
		list[i] = fs.list[j]
	}
	return &Error{Failures: list}
}
