package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types, kstatus-compatible: Ready is the summary, Reconciling is
// true while work is in progress, Stalled when it cannot go on without a
// change from a person; Drifted says the cluster differs from Git.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionDrifted     = "Drifted"
	// ConditionPublishBlocked is True while spec.publish.ref cannot be moved
	// to the verified revision (it moved on its own, or holds a newer one).
	ConditionPublishBlocked = "PublishBlocked"
	// ConditionPromotionPending is True while a new revision of the
	// followed ref waits for an approval or for keys in this Sync's Vault.
	ConditionPromotionPending = "PromotionPending"
)

// Promotion and health reasons.
const (
	// ReasonHealthCheckPending: applied, and workloads are not healthy yet.
	ReasonHealthCheckPending = "HealthCheckPending"
	// ReasonHealthCheckFailed: a workload failed, or was not healthy within
	// spec.wait.timeout.
	ReasonHealthCheckFailed = "HealthCheckFailed"
	// ReasonPublished: spec.publish.ref was fast-forwarded (event).
	ReasonPublished = "Published"
	// ReasonRefMoved: spec.publish.ref holds a commit this Sync did not
	// publish and that is not an ancestor of the verified revision.
	ReasonRefMoved = "RefMoved"
	// ReasonNewerOnRef: spec.publish.ref already holds a revision newer than
	// the verified one, which is never published over it.
	ReasonNewerOnRef = "NewerRevisionOnRef"
	// ReasonPublishFailed: the push itself failed (network, credentials).
	ReasonPublishFailed = "PublishFailed"
	// ReasonUpToDate: PublishBlocked or PromotionPending is False.
	ReasonUpToDate = "UpToDate"
	// ReasonAwaitingApproval: the revision waits for annotation
	// latchkey.dev/approve to name it.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonSecretsMissing: references of the overlay name keys this
	// Sync's Vault does not have.
	ReasonSecretsMissing = "SecretsMissing"
	// ReasonNothingPublished: the followed branch does not exist yet
	// (nothing was published to it).
	ReasonNothingPublished = "NothingPublished"
	// ReasonPromoted: a new revision of the followed ref was applied (event).
	ReasonPromoted = "Promoted"
)

// PromotionLimit is how many promotions status.promotions keeps.
const PromotionLimit = 10

// Condition reasons.
const (
	ReasonSucceeded     = "ReconciliationSucceeded"
	ReasonProgressing   = "Progressing"
	ReasonSuspended     = "Suspended"
	ReasonFetchFailed   = "FetchFailed"
	ReasonRenderFailed  = "RenderFailed"
	ReasonResolveFailed = "ResolveFailed"
	ReasonApplyFailed   = "ApplyFailed"
	ReasonPruneFailed   = "PruneFailed"
	ReasonEmptyRender   = "EmptyRender"
	ReasonConfigInvalid = "ConfigInvalid"
	// ReasonForbidden: the Sync asked for something its ServiceAccount or
	// the controller's tenancy policy does not allow (an object in another
	// namespace, a cluster-scoped kind, another Sync's object); nothing of
	// the revision was applied or pruned.
	ReasonForbidden        = "Forbidden"
	ReasonDriftDetected    = "DriftDetected"
	ReasonDriftHealed      = "DriftHealed"
	ReasonNoDrift          = "NoDrift"
	ReasonObserved         = "Observed"
	ReasonRotationPickedUp = "RotationPickedUp"
)

// ReasonRotationCheckFailed is a Warning event: the rotation check could not
// read the versions of the Sync's Vault secrets (Vault down, sealed,
// denying). The applied values stay and Ready keeps the last outcome, since
// a render that only needs cached values still works; the event is where
// the stalled rotation shows, with its cause.
const ReasonRotationCheckFailed = "RotationCheckFailed"

// ReasonProgressingWithRetry is Reconciling's reason while a failed attempt
// is retried with backoff (as Flux names it).
const ReasonProgressingWithRetry = "ProgressingWithRetry"

// ReasonValueMisplaced is Ready's reason when a resolved value would land in
// an object's metadata, or outside a Secret's data without
// spec.render.allowValuesOutsideSecrets; ReasonValuesOutsideSecrets is the
// Warning event listing the objects that receive values outside Secrets
// when the Sync allows it.
const (
	ReasonValueMisplaced       = "ValueMisplaced"
	ReasonValuesOutsideSecrets = "ValuesOutsideSecrets"
)

// ReasonIntervalRaised is the Warning event saying that the controller's
// --min-interval raised an interval of the spec.
const ReasonIntervalRaised = "IntervalRaised"

// ReasonRenderLimitExceeded is Ready's reason when a Helm or Kustomize
// render was stopped by the controller's render limits (memory, CPU time,
// deadline, output size): the repository renders something without bound.
const ReasonRenderLimitExceeded = "RenderLimitExceeded"

// HistoryLimit is how many applies status.history keeps.
const HistoryLimit = 10

// SyncStatus is what the controller last saw and did.
type SyncStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastAppliedRevision is the Git revision of the last successful apply.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
	// LastAttemptedRevision is the Git revision of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// Inventory lists the objects this Sync applied and owns; only these are
	// ever pruned.
	// +optional
	Inventory *Inventory `json:"inventory,omitempty"`
	// Drift lists the objects that differ from the desired state, with the
	// fields that differ (never their values).
	// +optional
	Drift []DriftedObject `json:"drift,omitempty"`
	// History holds the last applies, newest first.
	// +optional
	History []Apply `json:"history,omitempty"`
	// Published is the revision this Sync last published to
	// spec.publish.ref.
	// +optional
	Published *Published `json:"published,omitempty"`
	// Promotions holds the last promotions (new revisions of the followed
	// ref applied under spec.promotion), newest first.
	// +optional
	Promotions []PromotionRecord `json:"promotions,omitempty"`
	// Hooks are the Helm hooks that last ran to success, with the keyed
	// digest they ran at: an unchanged hook is not run again.
	// +optional
	Hooks []HookRun `json:"hooks,omitempty"`
}

// Published records one publication of a verified revision.
type Published struct {
	// Ref is the branch that was fast-forwarded.
	Ref string `json:"ref"`
	// Revision is the commit it now holds.
	Revision string `json:"revision"`
	// VerifiedAt is when the revision's soak ended.
	VerifiedAt metav1.Time `json:"verifiedAt"`
	// PublishedAt is when the branch moved.
	PublishedAt metav1.Time `json:"publishedAt"`
}

// PromotionRecord is one promotion: a new revision of the followed ref
// applied by a Sync with spec.promotion.
type PromotionRecord struct {
	// Revision is the commit applied.
	Revision string `json:"revision"`
	// From is the followed ref ("branch verified/dev").
	From string `json:"from"`
	// PromotedAt is when it was applied.
	PromotedAt metav1.Time `json:"promotedAt"`
	// WaitedFor lists what it waited for ("approval", "secret
	// path#key"), empty when nothing held it.
	// +optional
	WaitedFor []string `json:"waitedFor,omitempty"`
	// HeldSince is when it was first held back, when it was.
	// +optional
	HeldSince *metav1.Time `json:"heldSince,omitempty"`
	// ApprovedBy is who approved it, from annotation
	// latchkey.dev/approved-by, when spec.promotion.approval is on.
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// Secrets are the secret versions verified present and applied.
	// +optional
	Secrets []VerifiedSecret `json:"secrets,omitempty"`
}

// VerifiedSecret is one reference checked present before a promotion.
type VerifiedSecret struct {
	// Reference is path#key (or the SealedSecret key).
	Reference string `json:"reference"`
	// Version is the KV v2 version applied (0 on KV v1).
	// +optional
	Version int `json:"version,omitempty"`
}

// Inventory is the set of objects a Sync owns.
type Inventory struct {
	Entries []InventoryEntry `json:"entries"`
}

// InventoryEntry names one object: ID is namespace_name_group_kind (as Flux
// writes it), Version its API version.
type InventoryEntry struct {
	ID      string `json:"id"`
	Version string `json:"v"`
}

// DriftedObject is one object that differs from the desired state.
type DriftedObject struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// Fields are the paths that differ ("spec.replicas", "data.password"),
	// or "(missing)" when the object does not exist.
	Fields []string `json:"fields"`
	// DetectedAt is when it was first seen.
	DetectedAt metav1.Time `json:"detectedAt"`
}

// Apply records one apply.
type Apply struct {
	Revision  string      `json:"revision"`
	AppliedAt metav1.Time `json:"appliedAt"`
	// Digest is sha256 of the rendered set with every secret value replaced
	// by its keyed HMAC: two applies with the same digest applied the same
	// state. A chart rendered with resolved values (resolveValues) holds
	// the values: its digest is a keyed HMAC of the set ("hmac-sha256:").
	Digest string `json:"digest"`
	// Objects is how many objects the set held.
	Objects int `json:"objects"`
	// Secrets are the secret versions used.
	// +optional
	Secrets []SecretVersion `json:"secrets,omitempty"`
}

// SecretVersion is the provenance of one secret value: where it came from,
// which version, and a keyed HMAC of the value (never the value).
type SecretVersion struct {
	// Object is "Kind namespace/name" and Field where the value went.
	Object string `json:"object"`
	Field  string `json:"field"`
	// Source is vault or sealed-secret.
	Source string `json:"source"`
	// Reference is the reference as written (path#key), or the
	// SealedSecret key.
	Reference string `json:"reference"`
	// Version is the KV v2 version read (0 on KV v1 and for SealedSecrets).
	// +optional
	Version int `json:"version,omitempty"`
	// Pinned is true when the manifest asked for that version.
	// +optional
	Pinned bool `json:"pinned,omitempty"`
	// HMAC is hex HMAC-SHA256 of the value under the controller's key.
	// +optional
	HMAC string `json:"hmac,omitempty"`
}
