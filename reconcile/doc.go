// Package reconcile is the Latchkey controller: for each Sync it fetches the
// Git revision, renders it, resolves every secret reference in memory,
// applies the result with server-side apply (field manager "latchkey"),
// prunes what it owns and no longer renders, and keeps watching what it
// applied to report or revert drift and follow Vault secret rotation.
//
// The pipeline is all or nothing per Sync: a failed fetch, render or
// resolution applies and prunes nothing, keeps the last good state in the
// cluster and says in the status which step and which reference failed.
// No secret value ever leaves memory except into the target object: errors
// that could echo one (API server validation messages) are redacted against
// the values of the set before they reach the status, events or logs.
package reconcile
