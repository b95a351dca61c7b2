// Package rules knows what a plaintext secret looks like: provider token
// formats, private keys, credentials inside URLs, which configuration names
// say "secret", and which literal values are not secrets at all (references,
// templates, placeholders).
//
// It does not know where to look: the scanner package walks manifests and
// lines and asks this package about the names and values it meets. Rules run
// behind a keyword prefilter (an Aho-Corasick automaton over all rule
// keywords), so a line is only matched against the regular expressions of the
// rules whose keywords it contains.
package rules
