package scanner

import "testing"

// An empty .latchkey.yaml (or one with only comments) is a valid config: the
// decoder's end-of-input is recognised by identity, not by its text.
func TestEmptyConfigIsValid(t *testing.T) {
	for _, data := range []string{"", "\n", "# nothing yet\n"} {
		if _, err := ParseConfig([]byte(data), ".latchkey.yaml"); err != nil {
			t.Errorf("ParseConfig(%q): %v", data, err)
		}
	}
}
