package resolver

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fakeUnsealer stands for package sealing (tested against the upstream
// controller there): it "unseals" by base64-encoding encryptedData.
type fakeUnsealer struct{}

func (fakeUnsealer) Unseal(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	enc, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "encryptedData")
	if enc["bad"] != "" {
		return nil, errors.New("encryptedData.bad cannot be decrypted")
	}
	data := map[string]any{}
	for k, v := range enc {
		data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()}, "data": data}}, nil
}

func TestResolveUnsealsSealedSecrets(t *testing.T) {
	sealed := "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: apps}\nspec: {encryptedData: {password: s3cr3t}}"
	in := objects(t, sealed, "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<path:secret/app#user>'}")
	res, err := New(store(), Options{Unsealer: fakeUnsealer{}, HMACKey: []byte("k")}).Resolve(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects[0].GetKind() != "Secret" || res.Objects[0].Object["data"].(map[string]any)["password"] != base64.StdEncoding.EncodeToString([]byte("s3cr3t")) {
		t.Fatalf("unsealed %v", res.Objects[0].Object)
	}
	p := res.Provenance[0].Refs
	if len(p) != 1 || p[0].Source != SourceSealedSecret || p[0].Key != "password" || p[0].HMAC == "" {
		t.Fatalf("provenance %+v", p)
	}

	// Without an Unsealer the SealedSecret passes through for the in-cluster controller.
	res, err = New(store(), Options{}).Resolve(context.Background(), in, nil)
	if err != nil || res.Objects[0].GetKind() != "SealedSecret" {
		t.Fatalf("pass-through: %v %v", err, res.Objects[0].GetKind())
	}

	// A SealedSecret that does not unseal fails the whole set, with the others' failures.
	bad := objects(t, strings.Replace(sealed, "password: s3cr3t", "bad: x", 1), "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<path:secret/app#nokey>'}")
	_, err = New(store(), Options{Unsealer: fakeUnsealer{}}).Resolve(context.Background(), bad, nil)
	var re *Error
	if !errors.As(err, &re) || len(re.Failures) != 2 || !strings.Contains(re.Failures[0].String(), "SealedSecret apps/db: cannot unseal: encryptedData.bad cannot be decrypted") {
		t.Fatalf("err = %v", err)
	}
}
