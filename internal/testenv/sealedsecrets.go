package testenv

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// SealedSecretsVersion pins the upstream sealed-secrets release whose kubeseal
// and controller Latchkey must interoperate with (components.Tools).
const SealedSecretsVersion = components.SealedSecretsVersion

// SealedSecrets is the upstream sealed-secrets controller running against a
// Kube, with its SealedSecret CRD installed.
type SealedSecrets struct {
	// Namespace holds the controller's key Secrets.
	Namespace string
	// ControllerName is the controller's name, as kubeseal's --controller-name.
	ControllerName string
	// CertPEM is the controller's current public certificate.
	CertPEM []byte
	// CertURL serves CertPEM like the controller's /v1/cert.pem endpoint.
	CertURL string
	// Kubeseal is the path of the upstream kubeseal binary.
	Kubeseal string

	kube *Kube
	ss   *components.SealedSecrets
}

// Logs returns everything the controller has printed so far, for tests that
// search every output channel for a canary value.
func (s *SealedSecrets) Logs() string { return s.ss.Logs() }

// Seal seals secretYAML with the upstream kubeseal and the controller's
// certificate, as a developer does before committing, and returns the
// SealedSecret as YAML.
func (s *SealedSecrets) Seal(t testing.TB, secretYAML string) string {
	t.Helper()
	out, err := s.ss.Seal(secretYAML, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// WaitForSecret waits until the controller has unsealed a SealedSecret into
// the Secret ns/name and returns that Secret. The controller works
// asynchronously, so a test that applies a SealedSecret polls for the
// result; on a timeout it fails with the controller's logs, which say why
// it refused to unseal.
func (s *SealedSecrets) WaitForSecret(t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got corev1.Secret
		err := s.kube.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &got)
		if err == nil {
			return &got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not create Secret %s/%s within 30s (%v); controller logs:\n%s", ns, name, err, s.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StartSealedSecrets runs the upstream controller out of cluster against k in
// namespace kube-system, the upstream default (components.SealedSecrets), and
// stops it when the test ends.
func StartSealedSecrets(t testing.TB, k *Kube) *SealedSecrets {
	t.Helper()
	s := &components.SealedSecrets{Kube: k.launched(), Dir: t.TempDir()}
	err := s.Start(context.Background())
	t.Cleanup(func() { _ = s.Stop() })
	started(t, "starting the sealed-secrets controller", err)
	return &SealedSecrets{Namespace: s.Namespace, ControllerName: s.ControllerName, CertPEM: s.CertPEM,
		CertURL: s.CertURL, Kubeseal: s.Kubeseal, kube: k, ss: s}
}
