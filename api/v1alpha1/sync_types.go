package v1alpha1

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Sync makes the objects rendered from a path of a Git repository exist in
// the cluster, with secret references resolved at apply time.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lks,categories=latchkey
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastAppliedRevision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Sync struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SyncSpec `json:"spec"`
	// +optional
	Status SyncStatus `json:"status,omitempty"`

	// intervalFloor is the controller's --min-interval, set in memory by the
	// controller and never serialised: the interval getters return no less.
	intervalFloor time.Duration `json:"-"`
}

// SyncList is a list of Syncs.
//
// +kubebuilder:object:root=true
type SyncList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Sync `json:"items"`
}

// SyncSpec is what a Sync makes true.
type SyncSpec struct {
	// Source is the Git repository, revision and path to render.
	Source GitSource `json:"source"`

	// Render says how the files at source.path become objects.
	// +optional
	Render Render `json:"render,omitempty"`

	// TargetNamespace is set on every namespaced object that names no
	// namespace of its own. Defaults to the Sync's namespace.
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// Prune deletes objects this Sync applied earlier that are no longer
	// rendered. Only objects recorded in status.inventory are ever deleted,
	// and never after an empty or failed render.
	// +kubebuilder:default=true
	// +optional
	Prune *bool `json:"prune,omitempty"`

	// Suspend stops reconciliation; objects already applied stay as they are.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (fetch, render, resolve, apply).
	// Duration defaults are written as Go prints them ("5m0s"), so that a
	// client's read-modify-write does not change the spec.
	// +kubebuilder:default="5m0s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Mode is how far the Sync goes: observe (render, resolve, diff and report
	// only), sync (apply new revisions and secret versions, report drift
	// without reverting it) or enforce (apply and revert drift).
	// +kubebuilder:default=enforce
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// ServiceAccountName is the ServiceAccount, in the Sync's namespace, that
	// every request for the Sync's objects impersonates (reads, dry-runs,
	// applies, prunes, drift repair), and whose token logs in to Vault's
	// Kubernetes auth. Defaults to the controller's --default-service-account;
	// with neither, a controller with tenancy off acts with its own rights.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Vault overrides the controller's Vault configuration for this Sync.
	// +optional
	Vault *Vault `json:"vault,omitempty"`

	// SealedSecrets configures how SealedSecrets in the source are unsealed.
	// +optional
	SealedSecrets *SealedSecrets `json:"sealedSecrets,omitempty"`

	// Rotation follows new versions of the Vault secrets the objects use.
	// +optional
	Rotation Rotation `json:"rotation,omitempty"`

	// Wait checks, after each apply, that the applied workloads are healthy
	// as kstatus reads them (Deployments rolled out and available,
	// StatefulSets and DaemonSets ready, Jobs complete). Until they are,
	// Ready is False with reason HealthCheckPending, then HealthCheckFailed
	// once wait.timeout has passed or a workload has failed; the message
	// names the objects. spec.publish checks health too, with or without it.
	// +optional
	Wait *Wait `json:"wait,omitempty"`

	// Publish fast-forwards a Git branch to each revision this Sync has
	// verified, for the next environment's Sync to follow.
	// +optional
	Publish *Publish `json:"publish,omitempty"`

	// Promotion gates the new revisions of the followed ref: an approval
	// naming the revision, and every Vault reference of the overlay present
	// in this Sync's own Vault before anything is applied.
	// +optional
	Promotion *Promotion `json:"promotion,omitempty"`
}

// Wait configures the health check of the applied workloads.
type Wait struct {
	// Timeout is how long the workloads of a newly applied revision may take
	// to become healthy before Ready says HealthCheckFailed.
	// +kubebuilder:default="5m0s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// Publish says which branch records the revisions this Sync verified.
type Publish struct {
	// Ref is the branch to fast-forward (e.g. verified/dev) with the
	// credentials of spec.source.secretRef, which need write access. Only
	// this Sync should move it: a branch that moved otherwise is never
	// overwritten (condition PublishBlocked).
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._/-]+$`
	// +kubebuilder:validation:MaxLength=200
	Ref string `json:"ref"`
	// After is the soak: how long the Sync must have been Ready on the
	// revision, with every applied workload healthy and no drift, before the
	// revision counts as verified and is published. The soak starts over
	// when any of that stops being true, and after a controller restart.
	// +kubebuilder:default="30m0s"
	// +optional
	After *metav1.Duration `json:"after,omitempty"`
}

// Promotion configures the gates on a Sync that follows another
// environment's published ref. With it set, a new revision is applied only
// once every Vault reference of the overlay exists in this Sync's Vault
// (read in memory, never recorded); until then condition PromotionPending
// lists the missing keys and the last applied revision stays.
type Promotion struct {
	// Approval holds each new revision until annotation
	// latchkey.dev/approve on this Sync names exactly that revision (its
	// full SHA): an approval never carries over to a newer commit.
	// `latchkey approve` sets it, with latchkey.dev/approved-by.
	// +optional
	Approval bool `json:"approval,omitempty"`
}

// Mode is how far a Sync goes in making the cluster match Git.
// +kubebuilder:validation:Enum=observe;sync;enforce
type Mode string

const (
	// ModeObserve renders, resolves and diffs, and only reports.
	ModeObserve Mode = "observe"
	// ModeSync applies new revisions and secret versions; drift is reported,
	// not reverted.
	ModeSync Mode = "sync"
	// ModeEnforce applies and reverts drift.
	ModeEnforce Mode = "enforce"
)

// GitSource is where the manifests come from.
type GitSource struct {
	// URL of the repository: https://, http:// or ssh://.
	// +kubebuilder:validation:Pattern=`^(https?|ssh)://`
	URL string `json:"url"`

	// Ref is the branch, tag or commit to follow. Defaults to branch main.
	// +optional
	Ref *GitRef `json:"ref,omitempty"`

	// Path is the directory inside the repository to render.
	// +optional
	Path string `json:"path,omitempty"`

	// Interval is how often the repository is checked for a new revision
	// (a webhook triggers a check at once). At least 1s; the controller may
	// raise it to its --min-interval.
	// +kubebuilder:default="1m0s"
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || duration(self) >= duration('1s')",message="interval must be at least 1s (0s means the default, 1m)"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// SecretRef names a Secret in the Sync's namespace with Git credentials:
	// username and password (or a token as password) for HTTPS, or identity
	// (a private key) and known_hosts for SSH.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// WebhookSecretRef names a Secret in the Sync's namespace whose key
	// token is this Sync's own push webhook secret (GitHub's signing secret,
	// GitLab's X-Gitlab-Token). A hook carrying it triggers only the Syncs
	// that follow the pushed repository and share the secret; the
	// controller-wide secret keeps triggering every Sync of the repository.
	// +optional
	WebhookSecretRef *LocalObjectReference `json:"webhookSecretRef,omitempty"`
}

// GitRef picks a revision: commit wins over tag, tag over branch.
type GitRef struct {
	// +optional
	Branch string `json:"branch,omitempty"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// Commit pins a full SHA, for an emergency rollback.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +optional
	Commit string `json:"commit,omitempty"`
}

// LocalObjectReference names an object in the Sync's namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// RenderType is how the files of a source path become objects.
// +kubebuilder:validation:Enum=auto;plain;kustomize;helm
type RenderType string

const (
	// RenderAuto picks kustomize when a kustomization file is present, helm
	// when a Chart.yaml is, plain YAML otherwise.
	RenderAuto      RenderType = "auto"
	RenderPlain     RenderType = "plain"
	RenderKustomize RenderType = "kustomize"
	RenderHelm      RenderType = "helm"
)

// Render configures rendering.
type Render struct {
	// +kubebuilder:default=auto
	// +optional
	Type RenderType `json:"type,omitempty"`
	// +optional
	Helm *HelmRender `json:"helm,omitempty"`
	// AllowValuesOutsideSecrets lets resolved values land outside a
	// Secret's data: a ConfigMap's data, an env literal of a workload, any
	// field of another kind, as argocd-vault-plugin allows. Whoever may read
	// those kinds reads the values. When it places any, a reconciliation
	// emits a Warning event (ValuesOutsideSecrets) listing the objects and
	// fields. A value in metadata (name, namespace, labels, annotations) is
	// refused regardless.
	// +optional
	AllowValuesOutsideSecrets bool `json:"allowValuesOutsideSecrets,omitempty"`
}

// HelmRender configures `helm template` of a chart at the source path.
type HelmRender struct {
	// ReleaseName defaults to the Sync's name.
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// ValuesFiles are paths relative to the chart, merged in order.
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`
	// Values are merged last.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
}

// Vault says which Vault resolves the Sync's references and how to log in.
// Unset fields default from the controller's configuration.
type Vault struct {
	// Address of the Vault server, e.g. https://vault.example:8200.
	// +optional
	Address string `json:"address,omitempty"`
	// Namespace is the Vault Enterprise namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// CASecretRef names a Secret with ca.crt, the PEM bundle that verifies
	// Vault's serving certificate.
	// +optional
	CASecretRef *LocalObjectReference `json:"caSecretRef,omitempty"`
	// Auth is how the controller logs in for this Sync.
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`
}

// VaultAuth is one Vault auth method; set exactly one.
type VaultAuth struct {
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	// +optional
	AppRole *VaultAppRoleAuth `json:"appRole,omitempty"`
	// +optional
	Token *VaultTokenAuth `json:"token,omitempty"`
}

// VaultKubernetesAuth logs in with the controller's ServiceAccount token.
type VaultKubernetesAuth struct {
	Role string `json:"role"`
	// +kubebuilder:default=kubernetes
	// +optional
	Mount string `json:"mount,omitempty"`
}

// VaultAppRoleAuth logs in with role_id and secret_id from a Secret.
type VaultAppRoleAuth struct {
	// SecretRef names a Secret with keys role_id and secret_id.
	SecretRef LocalObjectReference `json:"secretRef"`
	// +kubebuilder:default=approle
	// +optional
	Mount string `json:"mount,omitempty"`
}

// VaultTokenAuth uses a token from a Secret (key token).
type VaultTokenAuth struct {
	SecretRef LocalObjectReference `json:"secretRef"`
}

// SealedSecrets configures unsealing.
type SealedSecrets struct {
	// KeysNamespace holds the sealing key Secrets (label
	// sealedsecrets.bitnami.com/sealed-secrets-key). Defaults to the
	// controller's configuration (kube-system).
	// +optional
	KeysNamespace string `json:"keysNamespace,omitempty"`
}

// Rotation follows new versions of unpinned Vault secrets.
type Rotation struct {
	// Interval between checks of the KV metadata of the referenced secrets.
	// At least 1s; the controller may raise it to its --min-interval.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="rotation interval must be at least 1s"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// RestartWorkloads annotates the pod template of the Sync's workloads
	// that consume a Secret with a keyed HMAC of its values, so they roll
	// when a value changes.
	// +kubebuilder:default=true
	// +optional
	RestartWorkloads *bool `json:"restartWorkloads,omitempty"`
}
