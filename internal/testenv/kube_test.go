package testenv

import (
	"context"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestKubeServesTheRealAPI(t *testing.T) {
	k := Shared(t)
	ctx := context.Background()

	t.Run("namespace round trip", func(t *testing.T) {
		k.CreateNamespace(t, "smoke")
		var ns corev1.Namespace
		if err := k.Client.Get(ctx, types.NamespacedName{Name: "smoke"}, &ns); err != nil {
			t.Fatalf("reading namespace back: %v", err)
		}
		if ns.UID == "" {
			t.Fatalf("namespace has no UID: not stored by the API server")
		}
	})

	t.Run("server version is the pinned one", func(t *testing.T) {
		v, err := k.Clientset.Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("server version: %v", err)
		}
		if v.GitVersion != KubeAPIServerVersion {
			t.Fatalf("server reports %s, want %s", v.GitVersion, KubeAPIServerVersion)
		}
	})

	t.Run("service account tokens pass TokenReview", func(t *testing.T) {
		token := k.ServiceAccountToken(t, "smoke", "app")
		tr, err := k.Clientset.AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token review: %v", err)
		}
		if !tr.Status.Authenticated || !strings.HasSuffix(tr.Status.User.Username, ":smoke:app") {
			t.Fatalf("token review = %+v, want authenticated as system:serviceaccount:smoke:app", tr.Status)
		}
	})
}
