package reconcile_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// withTemplateData adds data to the spec.template of a SealedSecret that
// kubeseal wrote, as `latchkey scan --fix seal` does for the references of
// a Secret that mixes them with literals.
func withTemplateData(t *testing.T, sealed string, data map[string]any) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(sealed), &obj); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedMap(obj, data, "spec", "template", "data"); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: obj}
}

// TestSyncOfASealedSecretMixingLiteralsAndReferences: the literal is sealed
// (upstream kubeseal), the reference kept in spec.template.data. A Sync
// applies the Secret with both values: the unsealed literal and the Vault
// value. The upstream controller, given the same file, accepts it and
// leaves the reference as text (Latchkey alone resolves it).
func TestSyncOfASealedSecretMixingLiteralsAndReferences(t *testing.T) {
	sc := newScenario(t, "sealedmixed", withVault())
	ss := testenv.StartSealedSecrets(t, sc.kube)
	canarySealed, canaryVault := "canary-sealed-"+rand.Text(), "canary-vault-"+rand.Text()
	sc.vault.PutKV2(t, "secret", "app", map[string]any{"host": canaryVault})
	refs := map[string]any{"url": "https://<path:secret/data/app#host>/db"}
	seal := func(ns string) *unstructured.Unstructured {
		return withTemplateData(t, ss.Seal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: "+ns+"}\nstringData: {password: "+canarySealed+"}\n"), refs)
	}
	mixed, err := yaml.Marshal(seal("apps").Object)
	if err != nil {
		t.Fatal(err)
	}
	sc.repo.Commit(t, "mixed", map[string]string{"app/db.yaml": string(mixed)})
	sc.kube.CreateNamespace(t, "apps")
	startController(t, sc.kube, sc.vaultConfig())
	sc.create(t, sc.gitSync("apps", "mixed", "app", time.Minute))

	ready := waitReady(t, sc.c, "apps", "mixed", "True")
	if got, _ := secretValue(t, sc.c, "apps", "db", "password"); got != canarySealed {
		t.Errorf("password = %q, want the unsealed value", got)
	}
	if got, _ := secretValue(t, sc.c, "apps", "db", "url"); got != "https://"+canaryVault+"/db" {
		t.Errorf("url = %q, want the Vault value in place", got)
	}

	// The upstream controller reads the same file as valid: it unseals the
	// literal and writes the template data as it is.
	sc.kube.CreateNamespace(t, "upstream")
	if err := sc.c.Create(context.Background(), seal("upstream")); err != nil {
		t.Fatal(err)
	}
	got := ss.WaitForSecret(t, "upstream", "db")
	if string(got.Data["password"]) != canarySealed || string(got.Data["url"]) != refs["url"] {
		t.Errorf("the upstream controller made keys password=%t url=%q", string(got.Data["password"]) == canarySealed, got.Data["url"])
	}

	for _, out := range []string{ready, logs.String(), ss.Logs()} {
		if strings.Contains(out, canarySealed) || strings.Contains(out, canaryVault) {
			t.Error("a secret value reached the Ready condition or a log")
		}
	}
}
