package reconcile

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// HMACKeyField is the key of the HMAC key in its Secret.
const HMACKeyField = "key"

// EnsureHMACKey returns the controller's HMAC key from the Secret
// namespace/name, creating the Secret with a random 32-byte key when it
// does not exist. Every replica and every restart then uses the same key, so
// recorded HMACs stay comparable and workloads do not roll on a restart.
func EnsureHMACKey(ctx context.Context, c client.Client, namespace, name string) ([]byte, error) {
	var sec corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
	if apierrors.IsNotFound(err) {
		sec = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "latchkey"}},
			Data: map[string][]byte{HMACKeyField: randomKey()},
		}
		err = c.Create(ctx, &sec)
		if apierrors.IsAlreadyExists(err) { // another replica won the race
			err = c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading or creating the HMAC key Secret %s/%s: %w", namespace, name, err)
	}
	key := sec.Data[HMACKeyField]
	if len(key) < 16 {
		return nil, fmt.Errorf("the HMAC key Secret %s/%s has no %q of 16 bytes or more", namespace, name, HMACKeyField)
	}
	return key, nil
}
