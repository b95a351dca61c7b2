package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

const approveRevision = "3f1c0de5a9e5b8e1a7a3b1d6c2f4e8a9b0c1d2e3"

// approveCluster is staging: a Sync "shop" in namespace shop-staging, a
// Role that may read and patch Syncs, and ServiceAccounts with and
// without it.
func approveCluster(t *testing.T) *testenv.Kube {
	t.Helper()
	k := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	ctx := context.Background()
	ns := k.CreateNamespace(t, "shop-staging")
	sync := &v1alpha1.Sync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: v1alpha1.SyncSpec{Source: v1alpha1.GitSource{URL: "https://git.example/shop.git", Path: "apps/shop/overlays/staging"}}}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync-approver"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"syncs"}, Verbs: []string{"get", "patch"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync-approver"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sync-approver"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "approver"}}}
	for _, o := range []client.Object{sync, role, binding} {
		if err := k.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// kubeconfigAs writes a kubeconfig that authenticates with token, in
// namespace ns.
func kubeconfigAs(t *testing.T, k *testenv.Kube, token, ns string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: k.Host(), CertificateAuthorityData: k.CACert()}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: ns}
	kc.CurrentContext = "c"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func syncAnnotations(t *testing.T, k *testenv.Kube) map[string]string {
	t.Helper()
	var s v1alpha1.Sync
	if err := k.Client.Get(context.Background(), client.ObjectKey{Namespace: "shop-staging", Name: "shop"}, &s); err != nil {
		t.Fatal(err)
	}
	return s.Annotations
}

func TestApproveRecordsTheRevisionAndWhoApproved(t *testing.T) {
	t.Parallel() // its control plane is its own; approve reads no environment
	k := approveCluster(t)
	approver := kubeconfigAs(t, k, k.ServiceAccountToken(t, "shop-staging", "approver"), "shop-staging")
	viewer := kubeconfigAs(t, k, k.ServiceAccountToken(t, "shop-staging", "viewer"), "shop-staging")

	out, _, err := execLatchkey("", "approve", "shop", approveRevision, "--kubeconfig", approver)
	if err != nil {
		t.Fatal(err)
	}
	if want := "approved " + approveRevision + " for Sync shop-staging/shop as system:serviceaccount:shop-staging:approver"; !strings.Contains(out, want) {
		t.Errorf("stdout %q; want %q", out, want)
	}
	got := syncAnnotations(t, k)
	if got[reconcile.AnnotationApprove] != approveRevision || got[reconcile.AnnotationApprovedBy] != "system:serviceaccount:shop-staging:approver" {
		t.Errorf("annotations %v", got)
	}

	// NAMESPACE/NAME, as PromotionPending writes the command.
	if _, _, err := execLatchkey("", "approve", "shop-staging/shop", approveRevision, "--kubeconfig", approver); err != nil {
		t.Errorf("approve shop-staging/shop: %v", err)
	}

	// Nothing below changes the approval.
	tests := []struct {
		name, kubeconfig, revision string
		args                       []string // a Sync name other than shop, then more flags
		wantErr                    string
	}{
		{"an abbreviated revision", approver, "3f1c0de", nil, `revision "3f1c0de" is abbreviated: an approval names exactly one commit; give the full hash (git rev-parse 3f1c0de)`},
		{"a branch name", approver, "verified/dev", nil, `revision "verified/dev" is not a commit hash`},
		{"an upper-case hash", approver, strings.ToUpper(approveRevision), nil, "write the commit hash in lower case"},
		{"a caller who may not patch the Sync", viewer, strings.Repeat("a", 40), nil, "approving is patching the Sync, which you may not do here"},
		{"a Sync that does not exist", approver, strings.Repeat("b", 40), []string{"web"}, "no Sync web in namespace shop-staging"},
		{"a namespace given twice, differently", approver, strings.Repeat("b", 40), []string{"shop-prod/shop", "-n", "shop-staging"}, "give one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "shop"
			if len(tt.args) > 0 {
				name = tt.args[0] // another Sync's name
			}
			args := append([]string{"approve", name, tt.revision, "--kubeconfig", tt.kubeconfig}, tt.args[min(1, len(tt.args)):]...)
			_, _, err := execLatchkey("", args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want it to say %q", err, tt.wantErr)
			}
			if got := syncAnnotations(t, k)[reconcile.AnnotationApprove]; got != approveRevision {
				t.Errorf("the approval changed to %q", got)
			}
		})
	}
}

func TestCheckRevisionAcceptsOnlyAFullHash(t *testing.T) {
	for _, tt := range []struct {
		rev string
		ok  bool
	}{
		{approveRevision, true},
		{strings.Repeat("0", 64), true}, // SHA-256 repositories
		{approveRevision[:12], false},
		{approveRevision + "0", false},
		{"main", false},
		{"HEAD", false},
		{"", false},
		{" " + approveRevision, false},
		{strings.ToUpper(approveRevision), false},
	} {
		if err := checkRevision(tt.rev); (err == nil) != tt.ok {
			t.Errorf("checkRevision(%q) = %v; want ok=%v", tt.rev, err, tt.ok)
		}
	}
}
