package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	latchkeyv1alpha1 "github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

type approveFlags struct {
	namespace  string
	kubeconfig string
	context    string
	timeout    time.Duration
}

func newApproveCommand() *cobra.Command {
	var fl approveFlags
	cmd := &cobra.Command{
		Use:   "approve [NAMESPACE/]SYNC REVISION",
		Short: "Approve the promotion of one revision to a Sync that follows another environment",
		Long: `Approve REVISION for the Sync SYNC, whose spec.promotion.approval holds new revisions of the ref it
follows until one is approved: sets the annotation latchkey.dev/approve=REVISION on the Sync, and
latchkey.dev/approved-by to who you are as the API server sees you (a SelfSubjectReview: Kubernetes
records no user on objects). An approval names exactly one commit, so it never carries over to a newer
one: REVISION must be the full commit hash (40 hex digits, or 64 for SHA-256 repositories); "git
rev-parse SHORT" gives it.

Your rights are the approval policy: approving is a patch of the Sync. docs/rollout.md shows how to
let approvers patch only these annotations (a ValidatingAdmissionPolicy) and not the spec.`,
		Example: `  latchkey approve shop 3f1c0de5a9e5b8e1a7a3b1d6c2f4e8a9b0c1d2e3 -n shop-staging
  latchkey approve shop-staging/shop 3f1c0de5a9e5b8e1a7a3b1d6c2f4e8a9b0c1d2e3   # as PromotionPending writes it`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprove(cmd, args[0], args[1], fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.namespace, "namespace", "n", "", "namespace of the Sync (default: the kubeconfig context's)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)")
	f.StringVar(&fl.context, "context", "", "kubeconfig context (default: the current one)")
	f.DurationVar(&fl.timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// checkRevision refuses anything but a full, lower-case commit hash.
func checkRevision(rev string) error {
	if fullRevision.MatchString(rev) {
		return nil
	}
	lower := strings.ToLower(rev)
	switch {
	case fullRevision.MatchString(lower):
		return fmt.Errorf("revision %q: write the commit hash in lower case, as Git prints it: %s", rev, lower)
	case len(rev) >= 4 && len(rev) < 40 && strings.Trim(lower, "0123456789abcdef") == "":
		return fmt.Errorf("revision %q is abbreviated: an approval names exactly one commit; give the full hash (git rev-parse %s)", rev, rev)
	}
	return fmt.Errorf("revision %q is not a commit hash: give the full hash of the commit to promote (40 hex digits; git rev-parse BRANCH-OR-TAG gives it)", rev)
}

func runApprove(cmd *cobra.Command, name, rev string, fl approveFlags) error {
	if err := checkRevision(rev); err != nil {
		return err
	}
	// NAMESPACE/NAME, as the controller's PromotionPending message writes it.
	if ns, n, ok := strings.Cut(name, "/"); ok {
		if fl.namespace != "" && fl.namespace != ns {
			return fmt.Errorf("the Sync %s names namespace %s, and -n says %s: give one", name, ns, fl.namespace)
		}
		fl.namespace, name = ns, n
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()

	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	loading.ExplicitPath = fl.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{CurrentContext: fl.context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig (--kubeconfig, KUBECONFIG): %w", err)
	}
	ns := fl.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return fmt.Errorf("reading the kubeconfig's namespace (give -n): %w", err)
		}
	}
	user, err := whoAmI(ctx, rc)
	if err != nil {
		return err
	}
	if err := annotateSync(ctx, rc, ns, name, map[string]string{reconcile.AnnotationApprove: rev, reconcile.AnnotationApprovedBy: user}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "approved %s for Sync %s/%s as %s\n", rev, ns, name, user)
	return nil
}

// whoAmI asks the API server who the caller is.
func whoAmI(ctx context.Context, rc *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the API server who you are (SelfSubjectReview, authentication.k8s.io/v1, Kubernetes 1.28 or later): %w", err)
	}
	user := r.Status.UserInfo.Username
	if user == "" {
		return "", errors.New("the API server did not say who you are (SelfSubjectReview has no username): an anonymous approval is refused")
	}
	return user, nil
}

func annotateSync(ctx context.Context, rc *rest.Config, ns, name string, annotations map[string]string) error {
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	gvr := latchkeyv1alpha1.GroupVersion.WithResource("syncs")
	_, err = dc.Resource(gvr).Namespace(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "latchkey-approve"})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("no Sync %s in namespace %s (give -n NAMESPACE): %w", name, ns, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("approving is patching the Sync, which you may not do here: %w (ask for the approver role of docs/rollout.md)", err)
	case apierrors.IsInvalid(err):
		return fmt.Errorf("the API server refused the approval (an admission policy may restrict who approves): %w", err)
	case err != nil:
		return fmt.Errorf("annotating Sync %s/%s: %w", ns, name, err)
	}
	return nil
}
