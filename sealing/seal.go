package sealing

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/kubeseal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// Scope is how tightly a sealed value is bound to its Secret: strict (its
// namespace and name), namespace-wide, or cluster-wide.
type Scope = ssv1alpha1.SealingScope

// The scopes, as upstream names them (see ParseScope).
const (
	StrictScope        = ssv1alpha1.StrictScope
	NamespaceWideScope = ssv1alpha1.NamespaceWideScope
	ClusterWideScope   = ssv1alpha1.ClusterWideScope
)

// ParseScope reads "strict", "namespace-wide" or "cluster-wide" ("" is strict).
func ParseScope(s string) (Scope, error) {
	var sc Scope
	if err := sc.Set(s); err != nil {
		return 0, fmt.Errorf("scope %q: %w", s, err)
	}
	return sc, nil
}

// SealOptions are kubeseal's options for sealing Secret manifests.
type SealOptions struct {
	// Format is "json" (kubeseal's default) or "yaml".
	Format string
	// Scope, when not strict, overrides the scope annotations of the input.
	Scope Scope
	// AllowEmptyData seals a Secret without data.
	AllowEmptyData bool
	// Name overrides the Secret's name; Namespace is used for Secrets that
	// have none (and must match those that have one, as with kubeseal -n).
	Name, Namespace string
	// NamespaceExplicit says Namespace was given on the command line (so a
	// Secret in another namespace is an error, as in kubeseal).
	NamespaceExplicit bool
}

// SealStream seals every Secret of a YAML or JSON stream into out, exactly
// as `kubeseal` does (the same upstream code writes it).
func SealStream(in io.Reader, out io.Writer, pub *rsa.PublicKey, o SealOptions) error {
	return kubeseal.Seal(namespaceOnly{o.Namespace, o.NamespaceExplicit}, formatOrJSON(o.Format), in, out, scheme.Codecs, pub, o.Scope, o.AllowEmptyData, o.Name, "")
}

// MergeInto seals the Secret read from in and merges its values into the
// SealedSecret file path, in place, as `kubeseal --merge-into`.
func MergeInto(in io.Reader, path string, pub *rsa.PublicKey, o SealOptions) error {
	return kubeseal.SealMergingInto(namespaceOnly{o.Namespace, o.NamespaceExplicit}, formatOrJSON(o.Format), in, path, scheme.Codecs, pub, o.Scope, o.AllowEmptyData)
}

// SealRaw encrypts one value for the Secret namespace/name under scope and
// returns the base64 ciphertext to paste into encryptedData, as
// `kubeseal --raw`.
func SealRaw(value []byte, namespace, name string, scope Scope, pub *rsa.PublicKey) (string, error) {
	switch {
	case scope < ClusterWideScope && namespace == "":
		return "", fmt.Errorf("a namespace is required with --raw and scope %s", scopeName(scope))
	case scope < NamespaceWideScope && name == "":
		return "", fmt.Errorf("a name is required with --raw and scope %s", scopeName(scope))
	}
	var b bytes.Buffer
	if err := kubeseal.EncryptSecretItem(&b, name, namespace, value, scope, pub); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Seal seals one Secret object, for callers that hold objects rather than
// streams. The Secret's scope annotations decide the scope unless scope is
// not strict.
func Seal(secret *corev1.Secret, pub *rsa.PublicKey, scope Scope) (*ssv1alpha1.SealedSecret, error) {
	s := secret.DeepCopy()
	if scope != ssv1alpha1.DefaultScope {
		s.Annotations = ssv1alpha1.UpdateScopeAnnotations(s.Annotations, scope)
	}
	// Strip what the API server sets, as kubeseal does.
	s.SetSelfLink("")
	s.SetUID("")
	s.SetResourceVersion("")
	s.Generation = 0
	s.SetCreationTimestamp(metav1.Time{})
	s.SetDeletionTimestamp(nil)
	s.DeletionGracePeriodSeconds = nil
	ss, err := ssv1alpha1.NewSealedSecret(scheme.Codecs, pub, s)
	if err != nil {
		return nil, fmt.Errorf("sealing Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	ss.TypeMeta = metav1.TypeMeta{APIVersion: ssv1alpha1.SchemeGroupVersion.String(), Kind: "SealedSecret"}
	return ss, nil
}

func formatOrJSON(f string) string {
	if f == "" {
		return "json"
	}
	return f
}

// namespaceOnly is the kubeseal.ClientConfig the sealing functions use:
// they only ask it for the default namespace.
type namespaceOnly struct {
	ns       string
	explicit bool
}

func (n namespaceOnly) Namespace() (string, bool, error) { return n.ns, n.explicit, nil }

func (namespaceOnly) ClientConfig() (*rest.Config, error) {
	return nil, fmt.Errorf("no cluster access is needed to seal")
}
