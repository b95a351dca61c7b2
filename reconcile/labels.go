package reconcile

// Labels and annotations Latchkey sets on what it applies.
const (
	// LabelSync and LabelSyncNamespace name the Sync that owns an object;
	// the watches of managed objects select on LabelSync.
	LabelSync          = "latchkey.dev/sync"
	LabelSyncNamespace = "latchkey.dev/sync-namespace"
	// AnnotationRevision is the Git revision the object was applied from.
	AnnotationRevision = "latchkey.dev/revision"
	// AnnotationSource is the repository URL and path.
	AnnotationSource = "latchkey.dev/source"
	// AnnotationSecretsHMAC, on a workload's pod template, is the keyed HMAC
	// of the Secret values the pods consume: when a value rotates it
	// changes, and the workload rolls.
	AnnotationSecretsHMAC = "latchkey.dev/secrets-hmac"
	// LabelShard assigns a Sync to the controller replica started with
	// --shard of the same value.
	LabelShard = "latchkey.dev/shard"
	// AnnotationReconcileRequest, set to any new value, makes the controller
	// reconcile the Sync now (as `flux reconcile` does).
	AnnotationReconcileRequest = "latchkey.dev/reconcile-requested-at"
	// AnnotationApprove, on a Sync with spec.promotion.approval, names the
	// one revision (full SHA) it may take next; AnnotationApprovedBy says
	// who approved it. `latchkey approve` writes both.
	AnnotationApprove    = "latchkey.dev/approve"
	AnnotationApprovedBy = "latchkey.dev/approved-by"
)

// FieldManager is the server-side apply field manager of every apply.
const FieldManager = "latchkey"

// Finalizer lets a deleted Sync prune what it owns first.
const Finalizer = "gitops.latchkey.dev/finalizer"
