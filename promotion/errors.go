package promotion

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidReference: a reference, or an annotation that changes how
// references are read, is malformed, so what it reads cannot be named.
var ErrInvalidReference = errors.New("invalid reference")

// Unchecked is a reference whose presence could not be established.
type Unchecked struct {
	File string
	Line int
	// Ref is the reference as written (empty for a problem with the object).
	Ref    string
	Object string
	Field  string
	// Problem says what failed, Fix (when known) what to do; neither holds
	// a value.
	Problem, Fix string
	// Err is the cause: it matches resolver.ErrUnavailable, ErrAuth,
	// ErrPermissionDenied, ErrInvalidReference...
	Err error
}

func (u Unchecked) String() string {
	var b strings.Builder
	if u.File != "" {
		b.WriteString(u.File)
		if u.Line > 0 {
			fmt.Fprintf(&b, ":%d", u.Line)
		}
		b.WriteString(": ")
	}
	if u.Ref != "" {
		b.WriteString(u.Ref)
		b.WriteString(": ")
	}
	b.WriteString(u.Problem)
	fmt.Fprintf(&b, " (%s", u.Object)
	if u.Field != "" {
		b.WriteString(", " + u.Field)
	}
	b.WriteString(")")
	if u.Fix != "" {
		b.WriteString(" (fix: " + u.Fix + ")")
	}
	return b.String()
}

// Error is Check's error when references could not be checked: never
// about a missing key, which is a result, not an error.
type Error struct {
	Unchecked []Unchecked
}

func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Unchecked)
	noun := "references"
	if n == 1 {
		noun = "reference"
	}
	fmt.Fprintf(&b, "%d %s could not be checked against Vault:", n, noun)
	for _, u := range e.Unchecked {
		b.WriteString("\n  - ")
		b.WriteString(u.String())
	}
	return b.String()
}

// Unwrap lets errors.Is find each cause (resolver.ErrUnavailable...).
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, len(e.Unchecked))
	for _, u := range e.Unchecked {
		errs = append(errs, u.Err)
	}
	return errs
}
