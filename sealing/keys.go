package sealing

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/keyutil"
)

// KeyLabel marks the controller's key Secrets; the controller loads those
// whose value is "active" (a key marked "compromised" is no longer used).
const KeyLabel = "sealedsecrets.bitnami.com/sealed-secrets-key"

// DefaultControllerNamespace and DefaultControllerName are where the
// upstream chart installs the controller, as kubeseal assumes.
const (
	DefaultControllerNamespace = metav1.NamespaceSystem
	DefaultControllerName      = "sealed-secrets-controller"
)

// Keys are private keys by the fingerprint of their public key, the form
// the upstream decryption takes.
type Keys map[string]*rsa.PrivateKey

func (k Keys) add(key *rsa.PrivateKey) error {
	fp, err := sscrypto.PublicKeyFingerprint(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("fingerprinting a key: %w", err)
	}
	k[fp] = key
	return nil
}

// Fingerprints lists the keys, sorted, for messages.
func (k Keys) Fingerprints() []string {
	return slices.Sorted(maps.Keys(k))
}

// SecretLister lists Secrets of one namespace; client-go's
// CoreV1().Secrets(namespace) is one.
type SecretLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error)
}

// KeysFromCluster loads every active key of the controller from its
// namespace, as the controller does at start: current and past keys.
func KeysFromCluster(ctx context.Context, secrets SecretLister) (Keys, error) {
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: KeyLabel + "=active"})
	if err != nil {
		return nil, fmt.Errorf("listing the sealed-secrets keys (Secrets labelled %s=active): %w", KeyLabel, err)
	}
	keys := Keys{}
	var errs []error
	for _, s := range list.Items {
		k, err := parsePrivateKey(s.Data[corev1.TLSPrivateKeyKey])
		if err != nil {
			errs = append(errs, fmt.Errorf("key Secret %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		if err := keys.add(k); err != nil {
			errs = append(errs, err)
		}
	}
	if len(keys) == 0 {
		errs = append(errs, fmt.Errorf("no Secret labelled %s=active holds a usable key: is the sealed-secrets controller in this namespace?", KeyLabel))
		return nil, errors.Join(errs...)
	}
	return keys, nil
}

// KeysFromFiles loads private keys as kubeseal --recovery-private-key
// accepts them: PEM files, or key Secrets (a backup of the controller's
// Secrets, one or several, as YAML or JSON, or a v1 List of them).
func KeysFromFiles(paths ...string) (Keys, error) {
	keys := Keys{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading key file %s: %w", p, err)
		}
		found, err := keysIn(data)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", p, err)
		}
		for _, k := range found {
			if err := keys.add(k); err != nil {
				return nil, fmt.Errorf("key file %s: %w", p, err)
			}
		}
	}
	return keys, nil
}

func keysIn(data []byte) ([]*rsa.PrivateKey, error) {
	if k, err := parsePrivateKey(data); err == nil {
		return []*rsa.PrivateKey{k}, nil
	}
	var keys []*rsa.PrivateKey
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj struct {
			Kind  string            `json:"kind"`
			Data  map[string][]byte `json:"data"`
			Items []corev1.Secret   `json:"items"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.New("neither a PEM private key nor key Secrets in YAML or JSON")
		}
		secrets := obj.Items
		if obj.Kind == "Secret" {
			secrets = append(secrets, corev1.Secret{Data: obj.Data})
		}
		for _, s := range secrets {
			k, err := parsePrivateKey(s.Data[corev1.TLSPrivateKeyKey])
			if err != nil {
				return nil, fmt.Errorf("a Secret without a usable %s: %w", corev1.TLSPrivateKeyKey, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no private key found")
	}
	return keys, nil
}

func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	if len(pemBytes) == 0 {
		return nil, errors.New("no key data")
	}
	key, err := keyutil.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, errors.New("not a PEM private key")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA key", key)
	}
	return rk, nil
}

// ensure the upstream API types are registered with client-go's scheme
// (their package does it in init), which the codecs below rely on.
var _ = ssv1alpha1.SchemeGroupVersion
