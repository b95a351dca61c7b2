package testenv

import (
	"bytes"
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The upstream kubeseal seals with the controller's certificate and the
// upstream controller, running against the real API server, unseals it.
func TestSealedSecretsRoundTrip(t *testing.T) {
	k := StartKube(t)
	ss := StartSealedSecrets(t, k)
	ns := k.CreateNamespace(t, "app")

	sealed := []byte(ss.Seal(t, `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
stringData: {password: testenv-sealed-value}
`))
	if bytes.Contains(sealed, []byte("testenv-sealed-value")) {
		t.Fatalf("kubeseal output contains the plaintext")
	}

	var obj unstructured.Unstructured
	if err := yaml.Unmarshal(sealed, &obj.Object); err != nil {
		t.Fatalf("parsing kubeseal output: %v", err)
	}
	ctx := context.Background()
	if err := k.Client.Create(ctx, &obj); err != nil {
		t.Fatalf("creating SealedSecret: %v", err)
	}

	if got := ss.WaitForSecret(t, ns, "db"); string(got.Data["password"]) != "testenv-sealed-value" {
		t.Fatalf("controller unsealed password = %q", got.Data["password"])
	}
}
