package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ReasonHookFailed: a Helm hook (a pre- or post-install/upgrade Job, say)
// failed or did not complete within spec.wait.timeout; what comes after it
// was not applied and nothing was pruned.
const ReasonHookFailed = "HookFailed"

// HookRun is one Helm hook that ran to success.
type HookRun struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// ID is the object's inventory ID.
	ID string `json:"id"`
	// Events are the helm.sh/hook events it declares.
	Events []string `json:"events,omitempty"`
	// Digest is a keyed HMAC of the resolved hook: equal means unchanged,
	// without being a hash of any value it holds.
	Digest string `json:"digest"`
	// Revision is the Git revision it ran for.
	Revision string `json:"revision,omitempty"`
	// CompletedAt is when it was seen healthy (a Job complete).
	CompletedAt metav1.Time `json:"completedAt"`
}
