package reconcile

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NamespaceTerminating is a Namespace of the set that is being deleted.
// Server-side apply would wait for it to become ready (Namespaces are
// applied and waited for before the rest) until the Sync's timeout, which
// it never does while it terminates, and nothing can be created in it until
// it is gone; so the set is not applied, and the Sync says which namespace
// and why. Its Ready reason is Forbidden, as the API server's own refusal
// to create content in a terminating namespace is, and it is retried at the
// interval: the namespace going (and the Sync creating it again) fixes it.
type NamespaceTerminating struct {
	Names []string
}

func (e *NamespaceTerminating) Error() string {
	return fmt.Sprintf("Namespace %s is being deleted (Terminating): nothing can be applied in it until it is gone, "+
		"and the Sync creates it again then; what holds it is in `kubectl get namespace %s -o yaml` (status.conditions: "+
		"usually a finalizer on an object in it, or an API service that does not answer)",
		strings.Join(e.Names, ", "), e.Names[0])
}

// terminatingNamespaces returns a *NamespaceTerminating naming the
// Namespaces of objs being deleted, or nil. A namespace it cannot read is
// left to the apply, which reports why.
func terminatingNamespaces(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	var names []string
	for _, o := range objs {
		if o.GroupVersionKind() != corev1.SchemeGroupVersion.WithKind("Namespace") {
			continue
		}
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := c.Get(ctx, client.ObjectKey{Name: o.GetName()}, live); err != nil {
			continue
		}
		if live.GetDeletionTimestamp() != nil {
			names = append(names, o.GetName())
		}
	}
	if len(names) == 0 {
		return nil
	}
	return &NamespaceTerminating{Names: names}
}
