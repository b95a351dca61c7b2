package vault

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/sealing"
)

// sealedMixed seals the literal password with the upstream code and keeps
// references next to it: one in clear in spec.template.data, one sealed
// inside an encrypted value.
func sealedMixed(t *testing.T, key *rsa.PrivateKey, literal, templateURL string) *unstructured.Unstructured {
	t.Helper()
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "apps"},
		StringData: map[string]string{"password": literal, "user": "<path:secret/data/app#user>"},
	}
	// kubeseal seals data; stringData is folded into it as the API would.
	sec.Data = map[string][]byte{}
	for k, v := range sec.StringData {
		sec.Data[k] = []byte(v)
	}
	sec.StringData = nil
	ss, err := sealing.Seal(sec, &key.PublicKey, sealing.StrictScope)
	if err != nil {
		t.Fatal(err)
	}
	ss.Spec.Template.Data = map[string]string{"url": templateURL}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ss)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("bitnami.com/v1alpha1")
	u.SetKind("SealedSecret")
	return u
}

func TestResolveFillsTheReferencesOfAnUnsealedSealedSecret(t *testing.T) {
	const canary = "Ht4-canary-sealed-Wq8Lp2"
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "app", map[string]any{"host": "db.internal", "user": "app-user"})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	unsealer := sealing.NewUnsealer(sealing.Keys{"test": key})
	r := resolver.New(newBackend(t, tokenConfig(v)), resolver.Options{Unsealer: unsealer, HMACKey: []byte("k")})
	ctx := context.Background()

	in := sealedMixed(t, key, canary, "https://<path:secret/data/app#host>/db")
	res, err := r.Resolve(ctx, []*unstructured.Unstructured{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Objects[0]
	data, err := sealing.SecretData(out)
	if err != nil {
		t.Fatal(err)
	}
	if out.GetKind() != "Secret" || string(data["password"]) != canary || string(data["url"]) != "https://db.internal/db" || string(data["user"]) != "app-user" {
		t.Fatalf("resolved %s with keys %d", out.GetKind(), len(data))
	}
	got := map[string]resolver.RefProvenance{}
	for _, p := range res.Provenance[0].Refs {
		got[string(p.Source)+" "+p.Field] = p
	}
	for _, want := range []string{"sealed-secret data.password", "sealed-secret data.user", "vault data.user", "vault data.url"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no provenance %q in %v", want, res.Provenance[0].Refs)
		}
	}
	if p := got["vault data.url"]; p.Version != 1 || p.HMAC == "" || p.Location != (resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}) ||
		resolver.LandingOf(out, p.Field) != resolver.InSecret {
		t.Errorf("url provenance %+v", p)
	}

	// Fail closed: a reference that does not resolve fails the set, names
	// the SealedSecret and the field, and never the sealed value.
	in = sealedMixed(t, key, canary, "<path:secret/data/app#nokey>")
	res, err = r.Resolve(ctx, []*unstructured.Unstructured{in}, nil)
	var re *resolver.Error
	if res != nil || !errors.As(err, &re) || len(re.Failures) != 1 ||
		!strings.Contains(err.Error(), "SealedSecret apps/db") || !strings.Contains(err.Error(), "data.url") || !strings.Contains(err.Error(), `key "nokey" not found`) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Fatal("the error quotes the sealed value")
	}
}
