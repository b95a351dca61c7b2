package resolver

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestMisplacedValuesNamesEveryValueOutsideASecretsData(t *testing.T) {
	in := objects(t,
		// Values in a Secret's data and stringData are where they belong.
		`apiVersion: v1
kind: Secret
metadata: {name: db, annotations: {avp.kubernetes.io/path: secret/app, avp.kubernetes.io/kv-version: "2"}}
data: {password: '<password>'}
stringData: {user: '<user>'}`,
		// The same reference in data and in a label: the label is reported
		// even though provenance records the reference once.
		`apiVersion: v1
kind: Secret
metadata: {name: '<path:secret/app#user>', labels: {owner: '<path:secret/app#password>'}}
data: {password: '<path:secret/app#password>'}
type: '<path:secret/app#user>'`,
		`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, annotations: {"example.com/note": '<path:secret/app#user>'}}
data: {password: '<path:secret/app#password>'}`,
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generateName: '<path:secret/app#user>'}
spec: {template: {spec: {containers: [{name: c, env: [{name: P, value: '<path:secret/app#password>'}]}]}}}`,
		// A kind named Secret in another group is not a Secret.
		`apiVersion: example.com/v1
kind: Secret
metadata: {name: lookalike}
data: {password: '<path:secret/app#password>'}`,
		// An unsealed SealedSecret is a Secret.
		"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: sealed, namespace: apps}\nspec: {encryptedData: {password: s3cr3t}}",
	)
	origin := func(i int) string { return fmt.Sprintf("app.yaml:%d", i*10+1) }
	res, err := New(store(), Options{Unsealer: fakeUnsealer{}}).Resolve(context.Background(), in, origin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range MisplacedValues(in, res, origin) {
		got = append(got, m.String())
	}
	want := []string{
		"Secret <path:secret/app#user> (app.yaml:11) field metadata.labels.owner: secret/app#password resolves in metadata",
		"Secret <path:secret/app#user> (app.yaml:11) field metadata.name: secret/app#user resolves in metadata",
		"Secret <path:secret/app#user> (app.yaml:11) field type: secret/app#user resolves outside a Secret",
		`ConfigMap cfg (app.yaml:21) field data.password: secret/app#password resolves outside a Secret`,
		`ConfigMap cfg (app.yaml:21) field metadata.annotations["example.com/note"]: secret/app#user resolves in metadata`,
		"Deployment web (app.yaml:31) field metadata.generateName: secret/app#user resolves in metadata",
		"Deployment web (app.yaml:31) field spec.template.spec.containers[0].env[0].value: secret/app#password resolves outside a Secret",
		"Secret lookalike (app.yaml:41) field data.password: secret/app#password resolves outside a Secret",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("misplaced:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, m := range got {
		if strings.Contains(m, "s3cr3t") || strings.Contains(m, "admin") {
			t.Fatalf("a misplaced value is named by its value: %s", m)
		}
	}
}
