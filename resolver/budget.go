package resolver

import (
	"errors"
	"fmt"

	"github.com/latchkey-dev/latchkey/config"
)

// budget bounds the bytes one Resolve writes into its objects: each value
// (Options.MaxValueBytes) and all of them together (Options.MaxTotalBytes).
// Values are counted as they are produced, so a set that would be too large
// fails at the reference that crosses the line, before the rest is built.
type budget struct {
	perValue, total int64
	used            int64
	// exhausted is set once the total is crossed: the failure is recorded
	// once and no further value is computed.
	exhausted bool
}

// take counts a value of n bytes.
func (b *budget) take(n int64) error {
	if n > b.perValue {
		return &sizeError{limit: b.perValue}
	}
	if b.used+n > b.total {
		b.exhausted = true
		return &sizeError{limit: b.total, total: true}
	}
	b.used += n
	return nil
}

// sizeError is a value, or a set of values, over its bound. It names the
// limit, never the value nor its size (which would say something about it).
type sizeError struct {
	limit int64
	total bool
}

func (e *sizeError) Error() string {
	if e.total {
		return fmt.Sprintf("the values resolved for this set exceed the limit of %s in total", config.ByteSize(e.limit))
	}
	return fmt.Sprintf("the value exceeds the limit of %s per resolved value", config.ByteSize(e.limit))
}

// fix says what to do about it, in Failure.Fix.
func (e *sizeError) fix() string {
	if e.total {
		return "reference fewer or smaller secrets from one Sync (split it), or raise the resolver's total limit"
	}
	return "store a smaller value or shorten the modifier pipeline: a Kubernetes Secret holds at most 1 MiB anyway"
}

func isSizeError(err error) (*sizeError, bool) {
	var se *sizeError
	ok := errors.As(err, &se)
	return se, ok
}

// textSize is the size of a value as it is written into an object: a
// string's length, or the length of the JSON of anything else.
func textSize(v any) int64 {
	if s, ok := v.(string); ok {
		return int64(len(s))
	}
	return int64(len(canonical(v)))
}
