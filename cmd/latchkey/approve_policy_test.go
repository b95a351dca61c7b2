package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// The policy of docs/rollout.md, applied to a real API server: approvers
// approve, in their own name, and change nothing else; editors edit and
// cannot approve.
func TestApprovalPolicySeparatesApproversFromEditors(t *testing.T) {
	t.Parallel() // its control plane is its own; approve reads no environment
	policyFile := filepath.Join(testenv.ModuleRoot(t), "deploy", "promotion", "approval-policy.yaml")
	policy, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "rollout.md"))
	if err != nil {
		t.Fatal(err)
	}
	if body := policy[bytes.Index(policy, []byte("apiVersion:")):]; !bytes.Contains(doc, body) {
		t.Fatalf("docs/rollout.md does not show %s as it is", policyFile)
	}

	k := approveCluster(t)
	ctx := context.Background()
	ns := &corev1.Namespace{}
	if err := k.Client.Get(ctx, client.ObjectKey{Name: "shop-staging"}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"latchkey.dev/approval": "required"}
	if err := k.Client.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Approvers and editors may both patch Syncs: RBAC cannot tell them apart.
	for _, group := range []string{"latchkey-approvers", "shop-editors"} {
		b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-staging", Name: group},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sync-approver"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}
		if err := k.Client.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(policy), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := k.Client.Create(ctx, &u); err != nil {
			t.Fatalf("applying %s: %v", u.GetKind(), err)
		}
	}

	alice := impersonating(t, k, "alice", "latchkey-approvers")
	carol := impersonating(t, k, "carol", "shop-editors")
	approval := func(rev, by string) string {
		return `{"metadata":{"annotations":{"latchkey.dev/approve":"` + rev + `","latchkey.dev/approved-by":"` + by + `"}}}`
	}
	// The API server loads a new policy asynchronously: wait until it denies.
	waitDenied(t, carol.rest, approval(approveRevision, "carol"))

	tests := []struct {
		name    string
		as      identity
		patch   string
		wantErr string // "" when allowed
	}{
		{"an editor approves", carol, approval(approveRevision, "carol"), "only the latchkey-approvers group may approve"},
		{"an approver writes someone else's name", alice, approval(approveRevision, "bob"), "must be the approver's own user name"},
		{"an approver changes the spec", alice, `{"spec":{"suspend":true}}`, "not the spec, labels or other annotations"},
		{"an approver adds another annotation", alice, `{"metadata":{"annotations":{"team":"x"}}}`, "not the spec, labels or other annotations"},
		{"an approver approves in their own name", alice, approval(approveRevision, "alice"), ""},
		{"an editor edits the spec", carol, `{"spec":{"suspend":true}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := patchSync(tt.as.rest, tt.patch, false)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("denied: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v; want it to say %q", err, tt.wantErr)
			}
		})
	}

	// latchkey approve is how an approver approves under the policy.
	_, _, err = execLatchkey("", "approve", "shop", strings.Repeat("c", 40), "--kubeconfig", alice.kubeconfig)
	if err != nil {
		t.Fatalf("latchkey approve as an approver: %v", err)
	}
	if got := syncAnnotations(t, k); got[reconcile.AnnotationApprove] != strings.Repeat("c", 40) || got[reconcile.AnnotationApprovedBy] != "alice" {
		t.Errorf("annotations %v", got)
	}
	_, _, err = execLatchkey("", "approve", "shop", strings.Repeat("d", 40), "--kubeconfig", carol.kubeconfig)
	if err == nil || !strings.Contains(err.Error(), "only the latchkey-approvers group may approve") {
		t.Errorf("latchkey approve as an editor: err = %v", err)
	}
}

type identity struct {
	rest       *rest.Config
	kubeconfig string
}

// impersonating is the admin impersonating user in group, as an
// identity provider's user would authenticate.
func impersonating(t *testing.T, k *testenv.Kube, user, group string) identity {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: k.Host(), CertificateAuthorityData: k.CACert()}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: k.Config.CertData, ClientKeyData: k.Config.KeyData,
		Token: k.Config.BearerToken, Impersonate: user, ImpersonateGroups: []string{group}}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: "shop-staging"}
	kc.CurrentContext = "c"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return identity{rest: rc, kubeconfig: p}
}

func patchSync(rc *rest.Config, patch string, dryRun bool) error {
	c, err := client.New(rc, client.Options{Scheme: nil})
	if err != nil {
		return err
	}
	var s unstructured.Unstructured
	s.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(v1alpha1.SyncKind))
	s.SetNamespace("shop-staging")
	s.SetName("shop")
	var opts []client.PatchOption
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return c.Patch(context.Background(), &s, client.RawPatch(types.MergePatchType, []byte(patch)), opts...)
}

func waitDenied(t *testing.T, rc *rest.Config, patch string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := patchSync(rc, patch, true)
		if err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the approval policy never took effect (last patch: %v)", errors.Join(err, ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
