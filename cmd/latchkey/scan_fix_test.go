package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// fixLabels are the plaintext values of migration/testdata/repo, by the
// Vault path and key --fix vault moves them to with the default template.
var fixLabels = map[string]string{
	"payments/api#WEBHOOK_SECRET":           "Pq4-canary-kenv-H6tYu3",
	"payments/api-creds#api_key":            "Gc2-canary-literal-X5pLq8",
	"payments/api-creds#db_password":        "Tz9-canary-qliteral-M3vBn6",
	"payments/api-creds#REDIS_PASSWORD":     "Fk7-canary-envfile-D2sWq9",
	"shop/legacy#admin_password":            "Lx2-canary-crlf-B8nMk4",
	"shop/web#DB_PASSWORD":                  "Jm3-canary-env-Q7wRt5",
	"shop/web#STRIPE_API_KEY":               "Vb8-canary-flowenv-L4nZc1",
	"shop/web-db#password":                  "Wq7-canary-plain-Z3kLm9",
	"shop/web-db#api-token":                 "Rt4-canary-dquote-P8xVn2",
	"shop/web-db#session_secret":            "Hy6-canary-squote-K2mQw7",
	"shop/web-db#signing-key":               "Nb5-canary-base64-W9rTx4",
	"default/shop#postgresql.auth.password": "Dv5-canary-helm-R1cXz8",
}

// historyCanary is committed once and deleted: only in history.
const historyCanary = "Ow3-canary-history-Y6uIo1"

// fixRepo copies the labelled tree into a new Git repository whose history
// also holds a Secret that was committed and deleted.
func fixRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "migration", "testdata", "repo")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	gitIn(t, dst, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dst, "old", "creds.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old\nstringData:\n  password: "+historyCanary+"\n")
	gitIn(t, dst, "add", "-A")
	gitIn(t, dst, "commit", "-qm", "the tree, and a Secret later deleted")
	gitIn(t, dst, "rm", "-rq", "old")
	gitIn(t, dst, "commit", "-qm", "delete the old Secret")
	return dst
}

// fixRun runs the built binary in dir with only env (plus PATH, HOME, TMPDIR).
func fixRun(t *testing.T, bin, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// renderUnits renders each unit of the labelled tree with `latchkey render`
// and reduces it to what the cluster receives: Secret values (generated
// names without kustomize's content hash) and containers' effective env.
func renderUnits(t *testing.T, bin, repo string, env []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	hash := regexp.MustCompile(`-[a-z0-9]{10}$`)
	for _, unit := range []string{"apps/web", "apps/api", "apps/legacy", "charts/shop"} {
		code, stdout, stderr := fixRun(t, bin, repo, env, "render", unit)
		if code != 0 {
			t.Fatalf("render %s: %s", unit, stderr)
		}
		secrets := map[string]map[string]string{}
		var workloads []map[string]any
		for _, doc := range strings.Split(stdout, "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj == nil {
				continue
			}
			meta, _ := obj["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			if obj["kind"] == "Secret" {
				vals := map[string]string{}
				data, _ := obj["data"].(map[string]any)
				for k, v := range data {
					b, _ := base64.StdEncoding.DecodeString(v.(string))
					vals[k] = string(b)
				}
				sd, _ := obj["stringData"].(map[string]any)
				for k, v := range sd {
					vals[k] = v.(string)
				}
				secrets[name] = vals
				for k, v := range vals {
					out[unit+" Secret "+hash.ReplaceAllString(name, "")+" "+k] = v
				}
				continue
			}
			workloads = append(workloads, obj)
		}
		for _, w := range workloads {
			name := w["metadata"].(map[string]any)["name"].(string)
			spec := w["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			for _, c := range spec["containers"].([]any) {
				c := c.(map[string]any)
				envs, _ := c["env"].([]any)
				for _, e := range envs {
					e := e.(map[string]any)
					key := unit + " " + name + " " + c["name"].(string) + " " + e["name"].(string)
					if v, ok := e["value"].(string); ok {
						out[key] = v
						continue
					}
					ref := e["valueFrom"].(map[string]any)["secretKeyRef"].(map[string]any)
					out[key] = secrets[ref["name"].(string)][ref["key"].(string)]
				}
			}
		}
	}
	return out
}

func fixEnv(t *testing.T, extra ...string) ([]string, string) {
	t.Helper()
	tmp := t.TempDir()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + tmp, "GIT_CONFIG_GLOBAL=/dev/null"}, extra...), tmp
}

// assertNoValue fails if any labelled value (or the history canary) is in s.
func assertNoValue(t *testing.T, where, s string) {
	t.Helper()
	for id, v := range fixLabels {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(s, form) {
				t.Errorf("%s holds the value of %s", where, id)
			}
		}
	}
	if strings.Contains(s, historyCanary) {
		t.Errorf("%s holds the history canary", where)
	}
}

func assertNoValueInFiles(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		assertNoValue(t, p, string(b))
		return nil
	})
}

func TestScanFixVaultMovesEveryValueAndProvesIt(t *testing.T) {
	v := testenv.StartVault(t)
	bin := buildLatchkey(t)
	repo := fixRepo(t)
	v.PutKV2(t, "secret", "shop/web-db", map[string]any{"password": fixLabels["shop/web-db#password"], "extra": "kept"})
	env, tmp := fixEnv(t, "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+v.RootToken)
	before := renderUnits(t, bin, repo, env)
	var outputs strings.Builder

	code, stdout, stderr := fixRun(t, bin, repo, env, "scan", "--fix", "vault", ".")
	outputs.WriteString(stdout + stderr)
	if code != 0 || strings.Count(stdout, " → secret/data/") != len(fixLabels)+1 || !strings.Contains(stdout, "dry run: nothing was written") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"apps/web/secret.yaml:11 → secret/data/shop/web-db#password (Secret stringData; Vault holds the same value: reused; also in Git history: rotate it)",
		"apps/web/deployment.yaml:21 → secret/data/shop/web#DB_PASSWORD (container env; new key; env becomes secretKeyRef web-env in apps/web/web-env-secret.yaml",
		"+ apps/api/api-env-secret.yaml (Secret api-env), added to apps/api/kustomization.yaml",
		"in Git history only, NOT fixed (1): rotate these values",
		"old/creds.yaml:6 in commit ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}
	if st := gitIn(t, repo, "status", "--porcelain"); st != "" {
		t.Fatalf("the dry run changed the tree:\n%s", st)
	}
	if s, err := v.Client().KVv2("secret").Get(t.Context(), "shop/legacy"); err == nil {
		t.Fatalf("the dry run wrote to Vault: %v", s.VersionMetadata)
	}

	code, stdout, stderr = fixRun(t, bin, repo, env, "scan", "--fix", "vault", "--write", ".")
	outputs.WriteString(stdout + stderr)
	if code != 0 || !strings.Contains(stdout, "proof: the fixed tree renders the same") || !strings.Contains(stdout, "the fixed tree scans clean") {
		t.Fatalf("--write: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "stored 12 key(s) in Vault, reused 1 equal one(s)") {
		t.Errorf("--write:\n%s", stdout)
	}

	// Vault holds every value; other keys at a path are kept.
	for id, want := range fixLabels {
		p, key, _ := strings.Cut(id, "#")
		s, err := v.Client().KVv2("secret").Get(t.Context(), p)
		if err != nil || s.Data[key] != want {
			t.Errorf("Vault secret/%s#%s: %v", p, key, err)
		}
	}
	tls, _ := os.ReadFile(filepath.Join("..", "..", "migration", "testdata", "repo", "apps", "api", "tls.key"))
	if s, err := v.Client().KVv2("secret").Get(t.Context(), "payments/api-tls"); err != nil || s.Data["tls.key"] != string(tls) {
		t.Errorf("Vault does not hold tls.key: %v", err)
	}
	if s, _ := v.Client().KVv2("secret").Get(t.Context(), "shop/web-db"); s == nil || s.Data["extra"] != "kept" || s.VersionMetadata.Version != 4 {
		t.Errorf("another key at the path was lost, or a key was written twice (1 version + 3 new keys, one patch each): %+v", s)
	}

	// The fixed tree renders the same values and scans clean.
	after := renderUnits(t, bin, repo, env)
	for k, want := range before {
		if after[k] != want {
			t.Errorf("%s renders differently after the migration", k)
		}
	}
	if code, out, _ := fixRun(t, bin, repo, env, "scan", "."); code != 0 {
		t.Errorf("the fixed tree does not scan clean:\n%s", out)
	}

	// The diff touches the secret lines only, plus the generated Secrets.
	diff := gitIn(t, repo, "diff", "-U0")
	// What the diff adds holds no value (what it removes is the plaintext
	// that was committed: that is why the plan says to rotate it).
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, "+") {
			outputs.WriteString(l + "\n")
		}
	}
	removed := map[string][]int{}
	file := ""
	hunk := regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? `)
	for _, l := range strings.Split(diff, "\n") {
		if f, ok := strings.CutPrefix(l, "--- a/"); ok {
			file = f
		}
		if m := hunk.FindStringSubmatch(l); m != nil {
			start, _ := strconv.Atoi(m[1])
			n := 1
			if m[2] != "" {
				n, _ = strconv.Atoi(m[2])
			}
			for i := 0; i < n; i++ {
				removed[file] = append(removed[file], start+i)
			}
		}
	}
	want := map[string][]int{
		"apps/api/deployment.yaml":    {17},
		"apps/api/kustomization.yaml": {9, 10},
		"apps/api/secrets.env":        {2},
		"apps/api/tls.key":            {1, 2, 3, 4, 5},
		"apps/legacy/secret.yaml":     {8},
		"apps/web/deployment.yaml":    {21, 22},
		"apps/web/secret.yaml":        {11, 12, 13, 16},
		"charts/shop/values.yaml":     {8},
	}
	if got, _ := json.Marshal(removed); string(got) != mustJSON(want) {
		t.Errorf("the diff removes lines %s, want %s\n%s", got, mustJSON(want), diff)
	}
	if st := gitIn(t, repo, "status", "--porcelain", "--untracked-files=all"); strings.Count(st, "??") != 2 ||
		!strings.Contains(st, "?? apps/api/api-env-secret.yaml") || !strings.Contains(st, "?? apps/web/web-env-secret.yaml") {
		t.Errorf("new files:\n%s", st)
	}
	// Comments survive.
	if b, _ := os.ReadFile(filepath.Join(repo, "apps/web/secret.yaml")); !strings.Contains(string(b), "password: <path:secret/data/shop/web-db#password>   # the literal to move\n") {
		t.Errorf("apps/web/secret.yaml:\n%s", b)
	}

	// No value anywhere but Vault: outputs, the diff, temp files, the tree.
	assertNoValue(t, "stdout, stderr and the lines the diff adds", outputs.String())
	assertNoValueInFiles(t, tmp)
	assertNoValueInFiles(t, filepath.Join(repo, "apps"))
	assertNoValueInFiles(t, filepath.Join(repo, "charts"))
	_ = filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".latchkey-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestScanFixVaultNeverOverwritesADifferentValue(t *testing.T) {
	v := testenv.StartVault(t)
	bin := buildLatchkey(t)
	repo := fixRepo(t)
	v.PutKV2(t, "secret", "shop/legacy", map[string]any{"admin_password": "someone-elses-value", "note": "kept"})
	env, _ := fixEnv(t, "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+v.RootToken)
	code, stdout, stderr := fixRun(t, bin, repo, env, "scan", "--fix", "vault", "--write", "--no-history", ".")
	if code != 1 || !strings.Contains(stdout, "apps/legacy/secret.yaml:8 → secret/data/shop/legacy#admin_password (Secret stringData): SKIPPED: Vault already holds a different value") ||
		!strings.Contains(stdout, "proof: the fixed tree renders the same") || !strings.Contains(stdout, "the fixed tree still has 1 finding(s)") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	s, err := v.Client().KVv2("secret").Get(t.Context(), "shop/legacy")
	if err != nil || s.Data["admin_password"] != "someone-elses-value" || s.Data["note"] != "kept" || s.VersionMetadata.Version != 1 {
		t.Fatalf("the pre-existing secret changed: %v %+v", err, s)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "apps/legacy/secret.yaml")); !strings.Contains(string(b), fixLabels["shop/legacy#admin_password"]) {
		t.Fatal("the skipped literal was rewritten")
	}
	assertNoValue(t, "stdout and stderr", strings.ReplaceAll(stdout+stderr, "someone-elses-value", ""))
}

func TestScanFixSealOpensWithUpstreamKubeseal(t *testing.T) {
	kubeseal := testenv.ToolPath(t, "kubeseal", testenv.SealedSecretsVersion)
	bin := buildLatchkey(t)
	repo := fixRepo(t)
	key, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secret")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	var _ *rsa.PrivateKey = key
	env, tmp := fixEnv(t)

	code, stdout, stderr := fixRun(t, bin, repo, env, "scan", "--fix", "seal", "--write", "--cert", certFile, "--unseal-key", keyFile, "--no-history", ".")
	// The findings that are not Secrets are left for --fix vault: exit 1.
	if code != 1 || !strings.Contains(stdout, "sealed 2 Secret(s) in 2 file(s)") || !strings.Contains(stdout, "proof: the fixed tree renders the same") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertNoValue(t, "stdout and stderr", stdout+stderr)
	assertNoValueInFiles(t, tmp)
	for file, want := range map[string]map[string]string{
		"apps/web/secret.yaml": {"username": "web", "password": fixLabels["shop/web-db#password"], "api-token": fixLabels["shop/web-db#api-token"],
			"session_secret": fixLabels["shop/web-db#session_secret"], "signing-key": fixLabels["shop/web-db#signing-key"]},
		"apps/legacy/secret.yaml": {"admin_password": fixLabels["shop/legacy#admin_password"]},
	} {
		sealed, err := os.ReadFile(filepath.Join(repo, file))
		if err != nil {
			t.Fatal(err)
		}
		assertNoValue(t, file, string(sealed))
		out, stderr, err := runBin(t, kubeseal, string(sealed), "--recovery-unseal", "--recovery-private-key", keyFile, "-o", "json")
		if err != nil {
			t.Fatalf("kubeseal --recovery-unseal %s: %v: %s", file, err, stderr)
		}
		var s struct {
			Metadata struct{ Name, Namespace string }
			Data     map[string][]byte
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Data) != len(want) || s.Metadata.Namespace != "shop" {
			t.Errorf("%s opens to %d keys in %q", file, len(s.Data), s.Metadata.Namespace)
		}
		for k, v := range want {
			if string(s.Data[k]) != v {
				t.Errorf("%s: key %s does not open to the original value", file, k)
			}
		}
	}
}
