// Package manifest parses YAML and JSON manifests into node trees that keep
// the line and column of every value, and walks them safely.
//
// Safe means: any input, including invalid UTF-8, binary data, deeply nested
// flow collections and "billion laughs" alias bombs, yields either nodes or an
// error, never a panic and never more memory than the input's own size
// justifies. Aliases are never expanded: a walk visits an anchored node once,
// where it is written, so the cost of a walk is linear in the input.
package manifest
