// Package resolver turns rendered manifests that carry secret references into
// manifests that carry the values, in memory only.
//
// A Resolver is built once around a Backend (the Vault backend lives in
// resolver/vault) and used for every render: the CLI resolves one set of
// objects and exits, the controller keeps the Resolver and a Cache across
// renders. Resolve is all or nothing: it returns every object resolved, or no
// object and one *Error that lists every reference that failed, each with the
// object and field it sits in, what went wrong and how to fix it. Errors,
// provenance and cache keys never contain a secret value.
//
// The references understood are those of package reference: argocd-vault-plugin
// placeholders (inline <path:PATH#KEY#VERSION>, generic <KEY> with the
// avp.kubernetes.io/path annotation, modifier pipelines, the kv-version,
// secret-version, ignore and remove-missing annotations) and vals-style
// ref+vault:// references. SealedSecrets are unsealed when an Unsealer is
// configured, before Vault is read: the references of the unsealed Secret
// (spec.template.data, or inside a sealed value) are then resolved like
// those of any Secret.
package resolver
