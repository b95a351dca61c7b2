package migration

import (
	"bytes"
	"sort"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// text is a file's content with a line index, turning the 1-based line and
// character column of YAML nodes and findings into byte offsets.
type text struct {
	data       []byte
	lineStarts []int
}

func newText(data []byte) *text {
	t := &text{data: data, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			t.lineStarts = append(t.lineStarts, i+1)
		}
	}
	return t
}

// lineSpan is the byte span of 1-based line n without its line ending.
func (t *text) lineSpan(n int) (int, int) {
	if n < 1 || n > len(t.lineStarts) {
		return 0, 0
	}
	start, end := t.lineStarts[n-1], len(t.data)
	if n < len(t.lineStarts) {
		end = t.lineStarts[n] - 1
	}
	if end > start && t.data[end-1] == '\r' {
		end--
	}
	return start, end
}

// offset turns a line and a character column into a byte offset, -1 when
// out of range.
func (t *text) offset(line, col int) int {
	start, end := t.lineSpan(line)
	if line < 1 || line > len(t.lineStarts) {
		return -1
	}
	off := start
	for c := 1; c < col; c++ {
		if off >= end {
			return -1
		}
		_, size := utf8.DecodeRune(t.data[off:end])
		off += size
	}
	return off
}

// line is the 1-based line of byte offset off.
func (t *text) line(off int) int {
	return sort.Search(len(t.lineStarts), func(i int) bool { return t.lineStarts[i] > off })
}

// newline is the file's line ending, so added lines match the others.
func (t *text) newline() string {
	if bytes.Contains(t.data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// scalarSpan is the byte span of scalar v as written: its quotes included,
// from a block scalar's indicator to the end of its last content line. ok is
// false when the text cannot be matched to the node with certainty (an
// escaped or folded plain scalar spanning lines): such a value is left alone.
func (t *text) scalarSpan(v *yaml.Node) (start, end int, ok bool) {
	start = t.offset(v.Line, v.Column)
	if start < 0 || v.Kind != yaml.ScalarNode {
		return 0, 0, false
	}
	switch {
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		_, lineEnd := t.lineSpan(v.Line)
		if end = t.blockEnd(v.Line); end <= lineEnd {
			return 0, 0, false
		}
		return start, end, true
	case v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		q := t.data[start]
		for i := start + 1; i < len(t.data); i++ {
			switch c := t.data[i]; {
			case c == '\n':
				return 0, 0, false // a quoted scalar folded over lines
			case q == '"' && c == '\\':
				i++
			case c == q && q == '\'' && i+1 < len(t.data) && t.data[i+1] == '\'':
				i++
			case c == q:
				end = i + 1
				// Decoding the span must give the node's value back.
				var s string
				if yaml.Unmarshal(t.data[start:end], &s) != nil || s != v.Value {
					return 0, 0, false
				}
				return start, end, true
			}
		}
		return 0, 0, false
	}
	end = start + len(v.Value)
	if end > len(t.data) || string(t.data[start:end]) != v.Value {
		return 0, 0, false
	}
	return start, end, true
}

// blockEnd is the end of the last content line of the block scalar whose
// indicator is on line: the lines indented more than the first content line
// allows, blank lines inside included.
func (t *text) blockEnd(line int) int {
	end, indent := 0, -1
	for n := line + 1; n <= len(t.lineStarts); n++ {
		s, e := t.lineSpan(n)
		i := bytes.IndexFunc(t.data[s:e], func(r rune) bool { return r != ' ' })
		if i < 0 {
			continue
		}
		if indent < 0 {
			indent = i
		} else if i < indent {
			break
		}
		end = e
	}
	return end
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits applies non-overlapping edits; overlapping ones are a bug in
// the planner and refused.
func applyEdits(data []byte, edits []edit) ([]byte, bool) {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b bytes.Buffer
	last := 0
	for _, e := range edits {
		if e.start < last || e.end < e.start || e.end > len(data) {
			return nil, false
		}
		b.Write(data[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.Write(data[last:])
	return b.Bytes(), true
}
