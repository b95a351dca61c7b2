// Package promotion holds the promotion gates that are pure or read-only:
// whether every secret reference of a rendered revision exists in an
// environment's Vault (Check), what to run to add the keys that do not
// (NextSteps), and the rendered difference between two revisions with
// secret values masked (Diff).
//
// The controller runs Check before it takes a new revision of a followed
// ref (the PromotionPending gate); `latchkey promote --check` runs the same
// check in CI, so a pull request learns which keys the next environment
// lacks before it is merged. Values are read into memory to see their keys
// and dropped: nothing here returns, prints or stores one.
package promotion
