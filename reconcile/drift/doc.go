// Package drift finds how a live object differs from the state a Sync
// wants, and remembers which managed objects changed since the last look.
//
// Differences are reported as field paths, never values; Secret data is
// compared through a keyed HMAC, so no plaintext is needed beyond the
// desired object the caller already holds for an apply.
package drift
