package reconcile

import (
	"errors"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// stepError is how every step of the pipeline fails: the error, and the
// Ready reason it becomes. It is the one carrier of a failure's reason, from
// the policy check to the prune; fail reads it back with reasonOf.
type stepError struct {
	reason string
	err    error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// failed gives err the Ready reason reason.
func failed(reason string, err error) error { return &stepError{reason: reason, err: err} }

// reasonOf is the Ready reason err carries. An error no step named (a bug:
// every step names its failures) reads as ApplyFailed, so the Sync still
// says it did not reach the cluster.
func reasonOf(err error) string {
	var se *stepError
	if errors.As(err, &se) {
		return se.reason
	}
	return v1alpha1.ReasonApplyFailed
}
