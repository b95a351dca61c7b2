// Package reference is the one grammar of secret references in Latchkey.
//
// The scanner uses it to decide "this value is a reference, not plaintext" and
// the resolver uses it to decide "this value must be replaced from Vault", so
// the two can never disagree. It knows three forms:
//
//   - argocd-vault-plugin inline placeholders: <path:PATH#KEY> and
//     <path:PATH#KEY#VERSION>, each optionally followed by a modifier pipeline
//     such as "| base64encode" or "| jsonPath {.a.b}";
//   - argocd-vault-plugin generic placeholders <KEY>, which only mean something
//     on an object annotated with avp.kubernetes.io/path;
//   - vals-style references ref+vault://PATH#/KEY, optionally ?version=N.
//
// The package is pure: no I/O, no dependencies, safe on any input.
package reference
