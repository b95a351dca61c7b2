package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/memory"
)

// boundedStorage is the memory storage a clone writes into, with the
// Fetcher's bounds enforced before anything is inflated.
//
// go-git inflates every object of a received pack into memory as it parses
// it, and only then could a caller measure it: a 1 GiB blob of zeros is
// about 1 MiB on the wire. Implementing storer.PackfileWriter makes go-git
// hand over the raw pack instead. It is kept (within MaxFetchBytes), every
// object header is read first, the declared inflated size of each object
// and the target size of each delta checked against MaxFileBytes and their
// sum against MaxBytes, and only a pack within bounds is parsed into the
// memory storage. The declared sizes are binding: go-git's scanner fails an
// object that inflates past its header.
type boundedStorage struct {
	*memory.Storage
	maxWire, maxObject, maxTotal int64
	what                         string // the repository, for errors
	// reserve, when set, is called with the pack's inflated size once it is
	// known and before anything is inflated; an error stops the fetch.
	reserve func(n int64) error
}

func newBoundedStorage(opts Options, what string) *boundedStorage {
	return &boundedStorage{Storage: memory.NewStorage(), maxWire: opts.MaxFetchBytes, maxObject: opts.MaxFileBytes, maxTotal: opts.MaxBytes, what: what}
}

// PackfileWriter implements storer.PackfileWriter.
func (s *boundedStorage) PackfileWriter() (io.WriteCloser, error) {
	return &packWriter{s: s}, nil
}

// packWriter keeps the raw pack until Close, which checks and parses it.
type packWriter struct {
	s   *boundedStorage
	buf bytes.Buffer
}

func (w *packWriter) Write(p []byte) (int, error) {
	if int64(w.buf.Len())+int64(len(p)) > w.s.maxWire {
		return 0, &LimitError{What: "the pack received from " + w.s.what, Limit: w.s.maxWire, Flag: flagMaxFetchBytes}
	}
	return w.buf.Write(p)
}

func (w *packWriter) Close() error {
	pack := w.buf.Bytes()
	defer func() { w.buf = bytes.Buffer{} }() // release the pack, not only empty it
	if len(pack) == 0 {
		return nil
	}
	inflated, err := w.s.checkPack(pack)
	if err != nil {
		return err
	}
	if w.s.reserve != nil {
		if err := w.s.reserve(inflated); err != nil {
			return err
		}
	}
	// A *memory.Storage is no PackfileWriter, so this parses the pack into
	// it; from a bytes.Reader the scanner is seekable and deltas are read
	// back from the pack instead of being cached.
	return packfile.UpdateObjectStorage(w.s.Storage, bytes.NewReader(pack))
}

// checkPack reads every object header of pack and refuses it if an object,
// or all of them together, would inflate past the bounds; it returns the
// size of the objects once inflated. It inflates only objects within the
// bound per object, into nothing, and of a delta only its header.
func (s *boundedStorage) checkPack(pack []byte) (int64, error) {
	sc := packfile.NewScanner(bytes.NewReader(pack))
	_, count, err := sc.Header()
	if err != nil {
		return 0, fmt.Errorf("reading the pack from %s: %w", s.what, err)
	}
	var total int64
	add := func(kind string, size int64) error {
		if size > s.maxObject {
			return &LimitError{What: fmt.Sprintf("a %s in the pack from %s", kind, s.what), Limit: s.maxObject, Flag: flagMaxFileBytes}
		}
		if total += size; total > s.maxTotal {
			return &LimitError{What: "the objects fetched from " + s.what, Limit: s.maxTotal, Flag: flagMaxBytes}
		}
		return nil
	}
	for range count {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return 0, fmt.Errorf("reading the pack from %s: %w", s.what, err)
		}
		if !oh.Type.IsDelta() {
			if err := add(oh.Type.String(), oh.Length); err != nil {
				return 0, err
			}
			continue // the next header skips the content, bounded by its declared size
		}
		// A delta's instructions are inflated on their own while it is
		// resolved, then its target is stored: both are bounded.
		if oh.Length > s.maxObject {
			return 0, &LimitError{What: "a delta in the pack from " + s.what, Limit: s.maxObject, Flag: flagMaxFileBytes}
		}
		var head deltaHead
		if _, _, err := sc.NextObject(&head); err != nil {
			return 0, fmt.Errorf("reading the pack from %s: %w", s.what, err)
		}
		target, err := head.targetSize()
		if err != nil {
			return 0, fmt.Errorf("reading the pack from %s: %w", s.what, err)
		}
		if err := add("delta's result", target); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// deltaHead keeps the first bytes of a delta, which hold the sizes of its
// base and its result, and discards the rest.
type deltaHead struct {
	b [2 * 10]byte // two LEB128 varints of at most 10 bytes
	n int
}

func (d *deltaHead) Write(p []byte) (int, error) {
	d.n += copy(d.b[d.n:], p)
	return len(p), nil
}

var errBadDelta = errors.New("malformed delta header")

func (d *deltaHead) targetSize() (int64, error) {
	rest := d.b[:d.n]
	for i := range 2 { // base size, then target size
		var v uint64
		var shift uint
		for {
			if len(rest) == 0 || shift > 63 {
				return 0, errBadDelta
			}
			c := rest[0]
			rest = rest[1:]
			v |= uint64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		if i == 1 {
			if v > math.MaxInt64 {
				return math.MaxInt64, nil // over any bound
			}
			return int64(v), nil
		}
	}
	return 0, errBadDelta
}
