// Package scanner finds plaintext secrets in GitOps repositories: in the
// working tree, in staged changes (pre-commit) and in Git history (CI).
//
// It reads manifests the way Kubernetes, Helm, Kustomize, Argo CD,
// sealed-secrets and SOPS read them, so it knows that a Secret's data is
// base64 of a value that must be a reference, that an env entry named
// DB_PASSWORD with a literal value is a leak, and that a SealedSecret's
// encryptedData or a SOPS ENC[...] value is fine. Everything that is not a
// manifest is read line by line against provider token formats and
// "name = value" assignments whose name says secret.
//
// "This value is a reference, not plaintext" is decided by the reference
// grammar the resolver uses (resolver/reference), so the scanner never
// rejects what the controller would resolve, and never accepts what it would
// apply verbatim.
//
// No finding carries its secret: findings hold a masked form and a keyed
// fingerprint (see Fingerprinter) only.
package scanner
