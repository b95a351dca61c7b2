package sandbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The wire format between parent and worker: length-prefixed strings and
// byte strings, and a tagged encoding of the values an unstructured object
// (or Helm values) is made of. It is exact where encoding/json and
// encoding/gob are not: int64 stays int64 and float64 float64 (JSON would
// turn 1.0 into 1 and back into an int64), an empty list stays an empty
// list (gob turns it into nil, and `args: []` would become `args: null`).

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt64
	tagFloat64
	tagString
	tagList
	tagMap
	tagInt
)

// maxDepth bounds the nesting the decoder accepts, as apimachinery's JSON
// decoder does.
const maxDepth = 10000

// valueCost is what each decoded value is charged beyond its bytes: the
// reader's budget is spent as the decoded objects' memory, not as wire
// bytes. Measured: 40,000 small ConfigMaps take 4.4 MiB on the wire and 55
// MiB as unstructured maps (interface and string headers, map buckets);
// at 80 bytes a value the budget comes to about 52 MiB for them, while a
// large string costs about its length either way.
const valueCost = 80

// errTooLarge is returned by a reader whose budget is spent.
var errTooLarge = errors.New("more data than the limit allows")

type writer struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
}

func newWriter(w io.Writer) *writer { return &writer{w: bufio.NewWriterSize(w, 64<<10)} }

func (w *writer) uvarint(n uint64) {
	k := binary.PutUvarint(w.buf[:], n)
	_, _ = w.w.Write(w.buf[:k])
}

func (w *writer) bytes(b []byte) {
	w.uvarint(uint64(len(b)))
	_, _ = w.w.Write(b)
}

func (w *writer) string(s string) {
	w.uvarint(uint64(len(s)))
	_, _ = w.w.WriteString(s)
}

// value writes v, which must be made of the types an unstructured object
// holds.
func (w *writer) value(v any) error {
	switch v := v.(type) {
	case nil:
		_ = w.w.WriteByte(tagNil)
	case bool:
		if v {
			_ = w.w.WriteByte(tagTrue)
		} else {
			_ = w.w.WriteByte(tagFalse)
		}
	case int64:
		_ = w.w.WriteByte(tagInt64)
		k := binary.PutVarint(w.buf[:], v)
		_, _ = w.w.Write(w.buf[:k])
	case int:
		_ = w.w.WriteByte(tagInt)
		k := binary.PutVarint(w.buf[:], int64(v))
		_, _ = w.w.Write(w.buf[:k])
	case float64:
		_ = w.w.WriteByte(tagFloat64)
		binary.LittleEndian.PutUint64(w.buf[:8], math.Float64bits(v))
		_, _ = w.w.Write(w.buf[:8])
	case string:
		_ = w.w.WriteByte(tagString)
		w.string(v)
	case []any:
		_ = w.w.WriteByte(tagList)
		w.uvarint(uint64(len(v)))
		for _, e := range v {
			if err := w.value(e); err != nil {
				return err
			}
		}
	case map[string]any:
		_ = w.w.WriteByte(tagMap)
		w.uvarint(uint64(len(v)))
		for k, e := range v {
			w.string(k)
			if err := w.value(e); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a value of type %T cannot be passed to or from the render worker", v)
	}
	return nil
}

func (w *writer) flush() error { return w.w.Flush() }

// reader decodes what writer wrote, spending at most left bytes (wire
// bytes, plus valueCost per value): a length read from the stream is
// checked against what is left before anything is allocated for it.
type reader struct {
	r    *bufio.Reader
	left int64
}

func newReader(r io.Reader, limit int64) *reader {
	return &reader{r: bufio.NewReaderSize(r, 64<<10), left: limit}
}

func (r *reader) spend(n uint64) error {
	if n > uint64(r.left) {
		r.left = -1
		return errTooLarge
	}
	r.left -= int64(n)
	return nil
}

func (r *reader) byte() (byte, error) {
	if err := r.spend(1); err != nil {
		return 0, err
	}
	return r.r.ReadByte()
}

func (r *reader) uvarint() (uint64, error) {
	n, err := binary.ReadUvarint(byteCounter{r})
	return n, unexpected(err)
}

func (r *reader) varint() (int64, error) {
	n, err := binary.ReadVarint(byteCounter{r})
	return n, unexpected(err)
}

// byteCounter makes the varint readers spend the budget too.
type byteCounter struct{ r *reader }

func (b byteCounter) ReadByte() (byte, error) { return b.r.byte() }

func (r *reader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if err := r.spend(n); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r.r, b)
	return b, unexpected(err)
}

func (r *reader) string() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

func (r *reader) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nested deeper than %d levels", maxDepth)
	}
	if err := r.spend(valueCost); err != nil {
		return nil, err
	}
	tag, err := r.byte()
	if err != nil {
		return nil, unexpected(err)
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt64:
		return r.varint()
	case tagInt:
		n, err := r.varint()
		return int(n), err
	case tagFloat64:
		if err := r.spend(8); err != nil {
			return nil, err
		}
		var b [8]byte
		if _, err := io.ReadFull(r.r, b[:]); err != nil {
			return nil, unexpected(err)
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b[:])), nil
	case tagString:
		return r.string()
	case tagList:
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		// Each element takes at least a byte: a count beyond the budget is
		// refused before the list is allocated.
		if n > uint64(r.left) {
			return nil, errTooLarge
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagMap:
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(r.left)/2 {
			return nil, errTooLarge
		}
		out := make(map[string]any, n)
		for range n {
			k, err := r.string()
			if err != nil {
				return nil, err
			}
			if out[k], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown value tag %d", tag)
}

// unexpected turns io.EOF inside a message into io.ErrUnexpectedEOF: the
// stream ended early (the other side died), which is not a clean end.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
