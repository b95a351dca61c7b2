// Package migration moves the plaintext secrets the scanner finds out of a
// repository: into Vault KV v2, leaving references in their place, or into
// SealedSecrets. It is what `latchkey scan --fix` runs.
//
// A migration is a plan first: every finding is located in its file (the
// YAML node, or the env-file line, it came from) and either gets a rewrite
// that is known to be safe (the literal becomes a reference that resolves to
// the same value) or is left alone with the reason. Files are edited by byte
// position, never re-serialised, so formatting, comments, quoting, key order
// and line endings survive and a diff touches only the secret lines.
//
// Values are held in memory only: plans, errors and reports name files,
// lines and Vault paths, never a value; the proof that the migrated tree
// renders to the same objects compares keyed HMACs.
package migration
