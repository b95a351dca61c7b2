package reconcile

import (
	"context"

	"fmt"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tenantServiceAccount is the ServiceAccount of each bench namespace that
// Latchkey with --tenancy and Flux act as: it may manage the application's
// kinds in its namespace and nothing else.
const tenantServiceAccount = "deployer"

// prepareTenants creates the namespaces with their ServiceAccount, Role and
// RoleBinding, as an admin onboarding teams would, before any clock starts.
// Every contender gets them, whether it impersonates or not.
func prepareTenants(ctx context.Context, c client.Client, namespaces []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, ns := range namespaces {
		g.Go(func() error {
			objs := []client.Object{
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount}},
				&rbacv1.Role{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount},
					Rules: []rbacv1.PolicyRule{{
						APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "serviceaccounts"},
						Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
					}},
				},
				&rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: tenantServiceAccount},
					Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: tenantServiceAccount}},
				},
			}
			for _, o := range objs {
				if err := c.Create(gctx, o); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// removeTenants deletes what a stopped contender left in its namespaces, so
// that the next one's caches (Latchkey watches every object it labels, in
// every namespace) hold only its own. There is no namespace controller in
// this control plane, so the objects are deleted one kind at a time, the
// finalizers of the contender's own kinds dropped first (its controller is
// gone and would never remove them).
func removeTenants(ctx context.Context, c client.Client, namespaces []string, finalized []client.ObjectList) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, ns := range namespaces {
		g.Go(func() error {
			for _, l := range finalized {
				l := l.DeepCopyObject().(client.ObjectList)
				if err := c.List(gctx, l, client.InNamespace(ns)); err != nil {
					return err
				}
				objs, err := listObjects(l)
				if err != nil {
					return err
				}
				for _, o := range objs {
					if len(o.GetFinalizers()) > 0 {
						patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
						o.SetFinalizers(nil)
						if err := c.Patch(gctx, o, patch); err != nil {
							return err
						}
					}
					if err := client.IgnoreNotFound(c.Delete(gctx, o)); err != nil {
						return err
					}
				}
			}
			for _, kind := range []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}, &corev1.ServiceAccount{}} {
				if err := c.DeleteAllOf(gctx, kind, client.InNamespace(ns)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func listObjects(l client.ObjectList) ([]client.Object, error) {
	items, err := apimeta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		o, ok := it.(client.Object)
		if !ok {
			return nil, fmt.Errorf("list item %T is not an object", it)
		}
		out = append(out, o)
	}
	return out, nil
}
