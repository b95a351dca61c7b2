// Package v1alpha1 is the Sync API (group gitops.latchkey.dev): one Sync makes
// a namespace-scoped slice of a cluster match a path of a reference-only Git
// repository, with secret values resolved from Vault and SealedSecrets at apply
// time.
//
// The deepcopy functions and the CRD in charts/latchkey/crds are generated
// from these types by `make generate` (controller-gen).
//
// +kubebuilder:object:generate=true
// +groupName=gitops.latchkey.dev
package v1alpha1
