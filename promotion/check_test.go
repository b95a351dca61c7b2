package promotion

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// canary is planted in every secret: it must appear in no result, step or error.
const canary = "canary-promotion-7f3e1d"

// overlay is a staging overlay: plain YAML with references of every kind,
// some to keys staging's Vault has, some to keys it lacks.
var overlay = map[string]string{
	"db.yaml": `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData:
  user: <path:secret/data/shop/db#user>
  password: <path:secret/data/shop/db#password>
  apikey: <path:secret/data/shop/db#apikey>
---
apiVersion: v1
kind: Secret
metadata: {name: db-pinned, namespace: shop}
stringData:
  user: <path:secret/data/shop/db#user#9>
`,
	"app.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data:
  url: <path:secret/data/shop/payments#url>
  token: <path:secret/data/shop/payments#token>
  region: ref+vault://secret/shop/db#/region
`,
	"legacy.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: legacy
  namespace: shop
  annotations:
    avp.kubernetes.io/path: kv1/legacy/app
stringData:
  name: <name>
  zone: <zone>
`,
	"optional.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: optional
  namespace: shop
  annotations:
    avp.kubernetes.io/remove-missing: "true"
stringData:
  maybe: <path:secret/data/shop/db#maybe>
`,
	"ignored.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: ignored
  namespace: shop
  annotations:
    avp.kubernetes.io/ignore: "true"
stringData:
  x: <path:secret/data/nowhere#x>
`,
}

func writeOverlay(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "staging")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func renderOverlay(t *testing.T, files map[string]string) *render.Result {
	t.Helper()
	res, err := render.Dir(context.Background(), writeOverlay(t, files), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Dir = "staging" // stable file names in expectations
	return res
}

func backendFor(t *testing.T, addr, token string) resolver.Backend {
	t.Helper()
	b, err := vault.New(&config.Vault{Address: addr, Timeout: 5 * time.Second, MaxRetries: 0, Concurrency: 4,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(token)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stagingVault is staging's Vault: shop/db lacks apikey and region,
// shop/payments does not exist, legacy/app (KV v1) lacks zone.
func stagingVault(t *testing.T) *testenv.Vault {
	v := testenv.StartVault(t)
	v.EnableKV1(t, "kv1")
	v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": canary})
	v.PutKV1(t, "kv1", "legacy/app", map[string]any{"name": canary})
	return v
}

func noCanary(t *testing.T, what string, v any) {
	t.Helper()
	if s := fmt.Sprintf("%+v", v); strings.Contains(s, canary) {
		t.Errorf("%s holds the secret value: %s", what, s)
	}
}

func TestCheckListsEveryMissingKeyWithItsOrigin(t *testing.T) {
	v := stagingVault(t)
	res := renderOverlay(t, overlay)

	missing, err := Check(context.Background(), res, backendFor(t, v.Addr, v.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range missing {
		got = append(got, m.String())
	}
	want := []string{
		"staging/app.yaml:1: secret/data/shop/payments#token: secret missing (ConfigMap shop/app, data.token)",
		"staging/app.yaml:1: secret/data/shop/payments#url: secret missing (ConfigMap shop/app, data.url)",
		"staging/app.yaml:1: secret/shop/db#region: key missing (ConfigMap shop/app, data.region)",
		"staging/db.yaml:1: secret/data/shop/db#apikey: key missing (Secret shop/db, stringData.apikey)",
		"staging/db.yaml:9: secret/data/shop/db#user: pinned version missing (version 9) (Secret shop/db-pinned, stringData.user)",
		"staging/legacy.yaml:1: kv1/legacy/app#zone: key missing (Secret shop/legacy, stringData.zone)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("missing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	noCanary(t, "the missing list", missing)

	steps := NextSteps(missing)
	wantSteps := []string{
		"vault kv put -mount=kv1 legacy/app -   # standard input: a JSON object with the keys zone and every key the secret already has (put replaces it)",
		"vault kv patch -mount=secret shop/db apikey=-",
		"vault kv patch -mount=secret shop/db region=-",
		"# secret/data/shop/db#user (staging/db.yaml:9): version 9 of secret/shop/db (KV v2) does not exist: pin a version that does, or undelete it: vault kv undelete -mount=secret shop/db -versions=9",
		"vault kv put -mount=secret shop/payments token=-",
		"vault kv patch -mount=secret shop/payments url=-",
	}
	if strings.Join(steps, "\n") != strings.Join(wantSteps, "\n") {
		t.Errorf("next steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(wantSteps, "\n"))
	}
	noCanary(t, "the next steps", steps)
}

func TestCheckPassesOnceTheKeysAreWritten(t *testing.T) {
	v := stagingVault(t)
	res := renderOverlay(t, map[string]string{"db.yaml": overlay["db.yaml"], "optional.yaml": overlay["optional.yaml"]})
	b := backendFor(t, v.Addr, v.RootToken)

	missing, err := Check(context.Background(), res, b)
	if err != nil || len(missing) != 2 {
		t.Fatalf("before: missing %v, err %v; want apikey and the pinned user", missing, err)
	}
	v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": canary, "apikey": canary})
	for i := 3; i <= 9; i++ { // versions up to the pinned 9
		v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": canary, "apikey": canary})
	}

	rep, err := CheckWith(context.Background(), res, resolver.New(b, resolver.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 0 {
		t.Errorf("after writing the keys: still missing %v", rep.Missing)
	}
	// The remove-missing Secret's absent key never holds a promotion back.
	want := []Verified{{Location: resolver.Location{Mount: "secret/", Path: "shop/db", KVVersion: 2}, Version: 9}}
	if fmt.Sprint(rep.Verified) != fmt.Sprint(want) || rep.References != 5 {
		t.Errorf("verified %v of %d references; want %v of 5", rep.Verified, rep.References, want)
	}
	noCanary(t, "the report", rep)
}

func TestCheckErrorsAreNotMissingKeys(t *testing.T) {
	v := stagingVault(t)
	res := renderOverlay(t, overlay)

	// A token whose policy reads shop/db but not kv1/legacy nor shop/payments.
	v.WritePolicy(t, "db-only", `path "secret/data/shop/db" { capabilities = ["read"] }`)
	tok, err := v.Client().Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"db-only"}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		backend     resolver.Backend
		is          error
		wantMissing []string // refs still reported missing alongside
	}{
		{"vault unreachable", backendFor(t, "http://"+testenv.FreeLoopbackAddr(t), v.RootToken), resolver.ErrUnavailable, nil},
		{"access denied", backendFor(t, v.Addr, tok.Auth.ClientToken), resolver.ErrPermissionDenied,
			[]string{"secret/shop/db#region", "secret/data/shop/db#apikey", "secret/data/shop/db#user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			missing, err := Check(ctx, res, tt.backend)
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tt.is) {
				t.Fatalf("err = %v; want a *promotion.Error matching %v", err, tt.is)
			}
			var refs []string
			for _, m := range missing {
				refs = append(refs, m.Ref)
			}
			if strings.Join(refs, " ") != strings.Join(tt.wantMissing, " ") {
				t.Errorf("missing %v; want %v", refs, tt.wantMissing)
			}
			noCanary(t, "the error", err.Error())
			noCanary(t, "the missing list", missing)
		})
	}
}

func TestCheckReportsMalformedReferencesAsInvalid(t *testing.T) {
	v := stagingVault(t)
	res := renderOverlay(t, map[string]string{
		"bad.yaml": `apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: shop}
stringData:
  x: <path:secret/data/shop/db>
`,
		"db.yaml": overlay["db.yaml"],
	})
	missing, err := Check(context.Background(), res, backendFor(t, v.Addr, v.RootToken))
	if !errors.Is(err, ErrInvalidReference) {
		t.Fatalf("err = %v; want ErrInvalidReference", err)
	}
	if len(missing) != 2 {
		t.Errorf("the other objects' missing keys are still listed: got %v", missing)
	}
}
