package sealing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Unsealer turns SealedSecrets into the Secrets the upstream controller
// would create from them. It implements resolver.Unsealer.
type Unsealer struct {
	keys Keys
	// DefaultNamespace is the namespace of SealedSecrets that name none
	// (they are applied into a default namespace); strict and
	// namespace-wide scopes bind the ciphertext to it.
	DefaultNamespace string
}

// NewUnsealer returns an Unsealer with keys.
func NewUnsealer(keys Keys) *Unsealer {
	return &Unsealer{keys: keys}
}

// Unseal decrypts a SealedSecret with the upstream code, scope and template
// included. The result is a v1 Secret without the owner reference the
// controller would add (here the Secret replaces the SealedSecret). Errors
// say which keys of encryptedData failed and why, never what they decrypt to.
func (u *Unsealer) Unseal(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var ss ssv1alpha1.SealedSecret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &ss); err != nil {
		return nil, fmt.Errorf("not a valid SealedSecret: %w", err)
	}
	if ss.Namespace == "" {
		ss.Namespace = u.DefaultNamespace
	}
	if len(u.keys) == 0 {
		return nil, fmt.Errorf("no sealed-secrets private key is loaded")
	}
	if err := u.check(&ss); err != nil {
		return nil, err
	}
	sec, err := ss.Unseal(scheme.Codecs, u.keys)
	if err != nil {
		// Every value decrypted above, so the failure is in spec.template.data;
		// template errors can quote the values they were given: withhold it.
		return nil, fmt.Errorf("spec.template.data of %s failed to render (the template error is withheld: it may quote decrypted values)", describe(&ss))
	}
	sec.OwnerReferences = nil
	sec.TypeMeta.APIVersion, sec.TypeMeta.Kind = "v1", "Secret"
	out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sec)
	if err != nil {
		return nil, fmt.Errorf("converting the unsealed Secret %s: %w", describe(&ss), err)
	}
	clearCreationTimestamp(out)
	return &unstructured.Unstructured{Object: out}, nil
}

// check decrypts every value with the upstream HybridDecrypt first, to name
// each key that fails with the reason and the scope it was sealed for.
func (u *Unsealer) check(ss *ssv1alpha1.SealedSecret) error {
	if len(ss.Spec.Data) > 0 && len(ss.Spec.EncryptedData) == 0 {
		return fmt.Errorf("%s uses the deprecated spec.data field, which is not supported: seal it again", describe(ss))
	}
	scope := ss.Scope()
	label := ssv1alpha1.EncryptionLabel(ss.Namespace, ss.Name, scope)
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(ss.Spec.EncryptedData)) {
		ct, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData[k])
		if err != nil {
			bad = append(bad, fmt.Sprintf("encryptedData.%s is not base64", k))
			continue
		}
		if _, err := sscrypto.HybridDecrypt(rand.Reader, u.keys, ct, label); err != nil {
			bad = append(bad, fmt.Sprintf("encryptedData.%s cannot be decrypted", k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s; none of the %d loaded keys decrypts it for %s scope %s (sealed with another controller's certificate, for another namespace or name, or with a key that was removed)",
		describe(ss), strings.Join(bad, ", "), len(u.keys), scopeName(scope), scopeLabel(ss, scope))
}

func describe(ss *ssv1alpha1.SealedSecret) string {
	if ss.Namespace == "" {
		return "SealedSecret " + ss.Name
	}
	return "SealedSecret " + ss.Namespace + "/" + ss.Name
}

func scopeName(s ssv1alpha1.SealingScope) string { return s.String() }

func scopeLabel(ss *ssv1alpha1.SealedSecret, s ssv1alpha1.SealingScope) string {
	switch s {
	case ssv1alpha1.ClusterWideScope:
		return "(any namespace and name)"
	case ssv1alpha1.NamespaceWideScope:
		return fmt.Sprintf("(namespace %q)", ss.Namespace)
	}
	return fmt.Sprintf("(namespace %q, name %q)", ss.Namespace, ss.Name)
}

func clearCreationTimestamp(obj map[string]any) {
	if md, ok := obj["metadata"].(map[string]any); ok {
		if ts, ok := md["creationTimestamp"]; ok && ts == nil {
			delete(md, "creationTimestamp")
		}
	}
}

// SecretData decodes the data of an unsealed Secret, for tests and callers
// that compare values.
func SecretData(obj *unstructured.Unstructured) (map[string][]byte, error) {
	var s corev1.Secret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &s); err != nil {
		return nil, err
	}
	return s.Data, nil
}

// WriteSecret prints an unsealed Secret the way `kubeseal --recovery-unseal`
// does (format "json" or "yaml").
func WriteSecret(w io.Writer, obj *unstructured.Unstructured, format string) error {
	var s corev1.Secret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &s); err != nil {
		return err
	}
	var (
		b   []byte
		err error
	)
	switch formatOrJSON(format) {
	case "json":
		b, err = json.MarshalIndent(&s, "", "  ")
		b = append(b, '\n')
	case "yaml":
		b, err = yaml.Marshal(&s)
		b = append([]byte("---\n"), b...)
	default:
		return fmt.Errorf("unsupported output format %q: want json or yaml", format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
