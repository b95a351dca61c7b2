package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// widgetCRD is the test CRD of CRDRemoved: a namespaced kind no component
// knows, installed by the harness (not by the Sync).
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.faults.latchkey.dev
spec:
  group: faults.latchkey.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`

func widget(name string, size int) string {
	return fmt.Sprintf("---\napiVersion: faults.latchkey.dev/v1\nkind: Widget\nmetadata:\n  name: %s\nspec:\n  size: %d\n", name, size)
}

// CRDRemoved deletes the CRD of a custom resource a Sync applied (so the
// object and its kind go while the inventory holds it), then commits a
// change to the Sync's ConfigMaps. The Sync must fail with a condition
// naming the kind, delete nothing, and not be wedged. Trials rotate over
// three ways out: the CRD comes back; the controller restarts (its REST
// mapper then has never heard of the kind) and Git drops the custom
// resource; Git drops it under the same controller. Each way the Sync must be Ready again
// (recovery measured from the CRD's return or the commit) with its
// inventory equal to Git.
func CRDRemoved(tb testing.TB, c Campaign, w *World) Row {
	tb.Helper()
	row := Row{
		Fault:   "CRD deleted while its custom resource is in the inventory; CRD restored, or dropped from Git (after a controller restart in 1 of 3)",
		Checked: "condition names the kind; no ConfigMap deleted; not wedged: Ready after either; inventory = Git; no orphan",
		Trials:  c.Trials,
	}
	rng := c.Rand("crd removed")
	ctx := context.Background()
	names := []string{"cm-0", "cm-1", "cm-2"}
	for trial := range c.Trials {
		if err := installCRD(ctx, w.Client); err != nil {
			tb.Fatalf("kd: %v", err)
		}
		ns := fmt.Sprintf("kd-%d", trial)
		path := "kd/" + ns
		file := func(gen int, withWidget bool) map[string]string {
			doc := configMaps(names, fmt.Sprint(gen))
			if withWidget {
				doc += widget("w-0", gen)
			}
			return map[string]string{path + "/objects.yaml": doc}
		}
		rev := w.Repo.Commit(tb, "kd: "+ns, file(0, true))
		w.newSync(tb, ns, path, nil)
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			tb.Fatalf("kd: not converged before the fault: %v", err)
		}
		before, err := w.uids(ctx, ns)
		if err != nil {
			tb.Fatal(err)
		}
		if err := deleteCRD(ctx, w.Client); err != nil {
			tb.Fatalf("kd: %v", err)
		}
		time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
		rev = w.Repo.Commit(tb, fmt.Sprintf("kd: trial %d", trial), file(1, true))
		// For the new revision's attempt, not only the drift repair of the
		// Widget the CRD's deletion took.
		naming := failedNaming("Widget")
		if s, err := w.waitSync(ctx, ns, kubeWait, func(s *v1alpha1.Sync) bool {
			return s.Status.LastAttemptedRevision == rev && naming(s)
		}); err != nil {
			row.Fail(trial, "the condition does not name the missing kind Widget for revision %s: %v", short(rev), err)
		} else if trial == 0 {
			tb.Logf("CRD removed reported as %s", Condition(s))
		}
		w.controllerAlive(tb, &row, trial)

		restore := trial%3 == 0
		how := "the CRD came back"
		if trial%3 == 1 {
			// A controller started while the kind is gone knows nothing
			// of it: its REST mapper has no Widget at all.
			how = "the controller restarted and Git dropped the Widget"
			if err := w.Controller.Stop(); err != nil {
				row.Fail(trial, "stopping the controller: %v", err)
			}
			if err := w.Controller.Start(); err != nil {
				tb.Fatalf("kd: %v", err)
			}
		}
		lifted := time.Now()
		if restore {
			if err := installCRD(ctx, w.Client); err != nil {
				tb.Fatalf("kd: %v", err)
			}
		} else {
			if trial%3 == 2 {
				how = "Git dropped the Widget"
			}
			rev = w.Repo.Commit(tb, fmt.Sprintf("kd: trial %d drops the Widget", trial), file(1, false))
		}
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			row.Fail(trial, "wedged: not Ready after %s: %v", how, firstLine(err.Error()))
		} else {
			row.Recovery = append(row.Recovery, time.Since(lifted))
		}
		s, err := w.Sync(ctx, ns, "app")
		if err != nil {
			tb.Fatal(err)
		}
		hasWidget := s.Status.Inventory != nil && slices.ContainsFunc(s.Status.Inventory.Entries, func(e v1alpha1.InventoryEntry) bool {
			return strings.HasSuffix(e.ID, "_faults.latchkey.dev_Widget")
		})
		if hasWidget != restore {
			row.Fail(trial, "inventory has the Widget: %t, want %t (%v)", hasWidget, restore, s.Status.Inventory)
		}
		if got, err := w.configMapGens(ctx, ns, names); err != nil {
			tb.Fatal(err)
		} else if slices.ContainsFunc(names, func(n string) bool { return got[n] != "1" }) {
			row.Fail(trial, "ConfigMaps not at the commit: %v", got)
		}
		w.controllerAlive(tb, &row, trial)
		w.checkKept(ctx, tb, &row, trial, before, keepsAll, ns)
		w.checkOwnedIn(ctx, &row, trial, ns, ns, kinded(names))
	}
	return row
}

func crdObject() (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(widgetCRD), &u.Object); err != nil {
		return nil, fmt.Errorf("the Widget CRD: %w", err)
	}
	return u, nil
}

// installCRD creates the Widget CRD unless it exists, and waits until the
// API server serves the kind.
func installCRD(ctx context.Context, c client.Client) error {
	u, err := crdObject()
	if err != nil {
		return err
	}
	if err := c.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the Widget CRD: %w", err)
	}
	deadline := time.Now().Add(kubeWait)
	for {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("faults.latchkey.dev/v1")
		list.SetKind("WidgetList")
		err := c.List(ctx, list)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Widget CRD is not served after %s: %w", kubeWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deleteCRD deletes the Widget CRD and waits until it (and every Widget)
// is gone.
func deleteCRD(ctx context.Context, c client.Client) error {
	u, err := crdObject()
	if err != nil {
		return err
	}
	if err := c.Delete(ctx, u); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the Widget CRD: %w", err)
	}
	deadline := time.Now().Add(kubeWait)
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(u), u.DeepCopy())
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Widget CRD is still there %s after its deletion: %v", kubeWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
