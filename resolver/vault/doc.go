// Package vault is the resolver's HashiCorp Vault backend: KV v1 and v2
// (detected from the mount table), token, AppRole and Kubernetes auth with
// renewal and re-login, TLS, namespaces, bounded concurrency, deduplication
// of identical in-flight reads, retries with backoff on 429 and 5xx, and a
// timeout on every call. Errors wrap the resolver's error classes and never
// carry a secret value.
package vault
