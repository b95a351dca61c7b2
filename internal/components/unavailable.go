package components

import (
	"errors"
	"fmt"
)

// ErrUnavailable is what every error saying "this component is not installed
// here" matches with errors.Is: the caller decides whether that is a skip
// (a developer's machine) or a failure (CI), which a start failure of an
// installed component never is.
var ErrUnavailable = errors.New("real component unavailable")

type unavailableError struct{ msg string }

func (e unavailableError) Error() string        { return e.msg }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

func unavailable(format string, args ...any) error {
	return unavailableError{fmt.Sprintf(format, args...)}
}
