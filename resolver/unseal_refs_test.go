package resolver

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

	"github.com/latchkey-dev/latchkey/sealing"
)

// sealWith seals encrypted with the upstream code (package sealing) for
// apps/db and adds a clear template: data and annotations.
func sealWith(t *testing.T, key *rsa.PrivateKey, encrypted, template, annotations map[string]string) *unstructured.Unstructured {
	t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "apps"}, Data: map[string][]byte{}}
	for k, v := range encrypted {
		sec.Data[k] = []byte(v)
	}
	ss, err := sealing.Seal(sec, &key.PublicKey, sealing.StrictScope)
	if err != nil {
		t.Fatal(err)
	}
	ss.Spec.Template.Data = template
	ss.Spec.Template.Annotations = annotations
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ss)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("bitnami.com/v1alpha1")
	u.SetKind("SealedSecret")
	return u
}

func TestResolveFillsReferencesOfUnsealedSecrets(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const literal = "Qe5-canary-sealedlit-Uy2Kb8"
	tests := []struct {
		name                string
		encrypted, template map[string]string
		annotations         map[string]string
		want                map[string]string // key → value; "" = absent
		wantProv            []string          // source field
		wantErr             []string
	}{
		{name: "a reference in template data is resolved, the literal unsealed",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"url": "https://<path:secret/app#user>@db"},
			want: map[string]string{"password": literal, "url": "https://admin@db"}, wantProv: []string{"sealed-secret data.password", "vault data.url"}},
		{name: "a reference sealed inside a value is resolved too",
			encrypted: map[string]string{"token": "<path:secret/app#password>"},
			want:      map[string]string{"token": "s3cr3t"}, wantProv: []string{"sealed-secret data.token", "vault data.token"}},
		{name: "a generic placeholder reads the path annotated in the template",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"user": "<user>"},
			annotations: map[string]string{"avp.kubernetes.io/path": "secret/data/app"},
			want:        map[string]string{"user": "admin"}, wantProv: []string{"sealed-secret data.password", "vault data.user"}},
		{name: "remove-missing in the template drops the key",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"gone": "<path:secret/app#nokey>"},
			annotations: map[string]string{"avp.kubernetes.io/remove-missing": "true"},
			want:        map[string]string{"password": literal, "gone": ""}, wantProv: []string{"sealed-secret data.password"}},
		{name: "ignore in the template leaves the references as text",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"url": "<path:secret/app#user>"},
			annotations: map[string]string{"avp.kubernetes.io/ignore": "true"},
			want:        map[string]string{"url": "<path:secret/app#user>"}, wantProv: []string{"sealed-secret data.password"}},
		{name: "a malformed reference in the template names the SealedSecret",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"url": "<path:secret/app>"},
			wantErr: []string{"SealedSecret apps/db", "data.url", "malformed reference"}},
		{name: "a missing key fails closed, naming the SealedSecret and the field",
			encrypted: map[string]string{"password": literal}, template: map[string]string{"url": "<path:secret/app#nokey>"},
			wantErr: []string{"SealedSecret apps/db", "data.url", `key "nokey" not found`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sealWith(t, key, tt.encrypted, tt.template, tt.annotations)
			r := New(store(), Options{Unsealer: sealing.NewUnsealer(sealing.Keys{"k": key}), HMACKey: []byte("k")})
			res, err := r.Resolve(context.Background(), []*unstructured.Unstructured{in}, nil)
			if tt.wantErr != nil {
				var re *Error
				if res != nil || !errors.As(err, &re) {
					t.Fatalf("res %v err %v", res, err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				if strings.Contains(err.Error(), literal) {
					t.Error("the error quotes the sealed value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := sealing.SecretData(res.Objects[0])
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				got, ok := data[k]
				if want == "" && ok || want != "" && string(got) != want {
					t.Errorf("key %s: present %t, want %q", k, ok, want)
				}
			}
			var prov []string
			for _, p := range res.Provenance[0].Refs {
				prov = append(prov, string(p.Source)+" "+p.Field)
				if p.HMAC == "" || LandingOf(res.Objects[0], p.Field) != InSecret {
					t.Errorf("provenance %+v", p)
				}
			}
			if strings.Join(prov, ",") != strings.Join(tt.wantProv, ",") {
				t.Errorf("provenance %v, want %v", prov, tt.wantProv)
			}
		})
	}
}
