package scanner

import (
	"strings"
	"unicode/utf8"
)

// Mask shows enough of a secret to recognise which one it is (its first few
// characters, at most a quarter of it, and never for short values) and
// nothing that would help guess it.
func Mask(secret string) string {
	secret = strings.ToValidUTF8(secret, "?")
	if i := strings.IndexAny(secret, "\r\n"); i >= 0 {
		secret = secret[:i]
	}
	n := utf8.RuneCountInString(secret)
	show := min(n/4, 4)
	if n < 8 {
		show = 0
	}
	var b strings.Builder
	for i, r := range secret {
		if utf8.RuneCountInString(secret[:i]) >= show {
			break
		}
		b.WriteRune(r)
	}
	b.WriteString("*****")
	return b.String()
}
