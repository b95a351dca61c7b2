// Package sealing seals Secrets into SealedSecrets and unseals them, in the
// formats of bitnami-labs/sealed-secrets: what it seals the upstream
// controller unseals, what upstream kubeseal seals it unseals. It is built on
// the upstream packages (pkg/crypto for the hybrid RSA-OAEP + AES-GCM
// scheme, pkg/apis/sealedsecrets/v1alpha1 for the object and its templates,
// pkg/kubeseal for the CLI formats) and re-implements none of the crypto.
//
// Unsealing uses the controller's private keys: every Secret labelled
// sealedsecrets.bitnami.com/sealed-secrets-key=active in its namespace
// (current and past keys, as the controller itself loads them), or PEM files.
// Errors never contain decrypted data.
package sealing
