package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/scanner"
)

// gitRepo makes a repository with one commit of files.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Unavailable(t, "git is not installed")
	}
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "first")
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "protocol.file.allow=always"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type sarifURIs struct {
	Runs []struct {
		Results []struct {
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string } `json:"artifactLocation"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
	} `json:"runs"`
}

func sarifResults(t *testing.T, out string) (uris []string, fps []string) {
	t.Helper()
	var s sarifURIs
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("SARIF: %v\n%s", err, out)
	}
	for _, r := range s.Runs[0].Results {
		uris = append(uris, r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
		fps = append(fps, r.PartialFingerprints["latchkeyFingerprint/v1"])
	}
	return uris, fps
}

// Wherever the scan starts (root, a path argument, inside a subdirectory,
// a single file), reports, the root .latchkey.yaml, allow.paths and the
// baseline are the repository's.
func TestScanAnchorsAtTheRepositoryRoot(t *testing.T) {
	repo := gitRepo(t, map[string]string{
		".latchkey.yaml":              "allow:\n  paths: [\"apps/fixtures/**\"]\nbaseline: .latchkey-baseline.json\n",
		"apps/billing/values.yaml":    "password: Acc-8s7d6f5g\n",
		"apps/fixtures/values.yaml":   "password: Fix-8s7d6f5g\n",
		"apps/billing/more/app.env":   "",
		"clusters/prod/kustomize.txt": "nothing here\n",
	})
	t.Chdir(repo)
	if code, _, errOut := run(t, "", "scan", "--write-baseline", ".latchkey-baseline.json"); code != 0 {
		t.Fatalf("--write-baseline exit %d: %s", code, errOut)
	}
	writeFile(t, filepath.Join(repo, "apps/billing/more/app.env"), "API_TOKEN=New-8s7d6f5g\n")
	for _, tc := range []struct{ dir, arg string }{
		{".", ""}, {".", "apps"}, {".", "apps/billing"}, {"apps", ""}, {"apps", "."}, {"apps/billing", "more"},
		{"apps/billing/more", "app.env"}, {"clusters", "../apps"},
	} {
		t.Run(tc.dir+" "+tc.arg, func(t *testing.T) {
			t.Chdir(filepath.Join(repo, tc.dir))
			args := []string{"scan", "--format", "sarif"}
			if tc.arg != "" {
				args = append(args, tc.arg)
			}
			code, out, errOut := run(t, "", args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the new finding only)\n%s\n%s", code, out, errOut)
			}
			uris, fps := sarifResults(t, out)
			if len(uris) != 1 || uris[0] != "apps/billing/more/app.env" || fps[0] == "" {
				t.Fatalf("SARIF uris %v (fingerprints %v), want only apps/billing/more/app.env: the accepted and the allowed findings are filtered", uris, fps)
			}
		})
	}
}

// .latchkey.yml is honoured; both spellings at once are refused.
func TestScanConfigSpellings(t *testing.T) {
	repo := gitRepo(t, map[string]string{
		".latchkey.yml": "disable: [secret-assignment, helm-values-secret]\n",
		"values.yaml":   "password: Yml-8s7d6f5g\n",
	})
	t.Chdir(repo)
	if code, out, errOut := run(t, "", "scan"); code != 0 {
		t.Fatalf(".latchkey.yml ignored: exit %d\n%s%s", code, out, errOut)
	}
	writeFile(t, filepath.Join(repo, ".latchkey.yaml"), "disable: [jwt]\n")
	code, _, errOut := run(t, "", "scan")
	if code != 2 || !strings.Contains(errOut, "both .latchkey.yaml and .latchkey.yml") {
		t.Fatalf("both config files: exit %d, %s", code, errOut)
	}
}

// Config mistakes are named by key, with what is valid.
func TestScanConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"alow:\n  paths: [x]\n", `unknown key "alow" at the top level (did you mean "allow"?); valid keys: allow, baseline, disable, gitleaks, rules`},
		{"allow:\n  path: [x]\n", `unknown key "path" under allow (did you mean "paths"?); valid keys: paths`},
		{"disable: jwt\n", "disable must be a list, e.g. disable: [jwt]"},
		{"disable: [jwtt]\n", `unknown rule ID "jwtt"; valid IDs: `},
		{"rules:\n  - id: x\n    regex: x\n    entropy: high\n", "into a number"},
		{"rules:\n  - id: x\n    regexp: x\n", `unknown key "regexp" under rules[0] (did you mean "regex"?)`},
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".latchkey.yaml"), tc.config)
		code, _, errOut := run(t, "", "scan", dir)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "scanner.Config") {
			t.Errorf("config %q: exit %d, message %q; want it to contain %q", tc.config, code, errOut, tc.want)
		}
	}
}

// A baseline works in a depth-1 clone and in a copy without .git; a
// version 1 baseline there names the missing root commit.
func TestScanBaselineInShallowCloneAndOutsideGit(t *testing.T) {
	origin := gitRepo(t, map[string]string{
		".latchkey.yaml": "baseline: .latchkey-baseline.json\n",
		"values.yaml":    "password: Old-8s7d6f5g\n",
	})
	t.Chdir(origin)
	if code, _, errOut := run(t, "", "scan", "--write-baseline", ".latchkey-baseline.json"); code != 0 {
		t.Fatalf("--write-baseline exit %d: %s", code, errOut)
	}
	gitIn(t, origin, "add", "-A")
	gitIn(t, origin, "commit", "-q", "-m", "baseline")
	writeFile(t, filepath.Join(origin, "README.md"), "more history\n")
	gitIn(t, origin, "add", "-A")
	gitIn(t, origin, "commit", "-q", "-m", "third")

	shallow := filepath.Join(t.TempDir(), "shallow")
	gitIn(t, origin, "clone", "-q", "--depth", "1", "file://"+origin, shallow)
	copyDir := t.TempDir()
	if out, err := exec.Command("sh", "-c", `cd "$1" && tar --exclude=.git -cf - . | tar -C "$2" -xf -`, "sh", origin, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	for name, dir := range map[string]string{"depth-1 clone": shallow, "copy without .git": copyDir} {
		t.Chdir(dir)
		if code, out, errOut := run(t, "", "scan"); code != 0 {
			t.Errorf("%s: accepted finding reported again (exit %d)\n%s%s", name, code, out, errOut)
		}
		if code, _, _ := run(t, "", "scan", "--staged"); name == "depth-1 clone" && code != 0 {
			t.Errorf("%s: --staged exit %d", name, code)
		}
	}

	// A version 1 baseline (keyed by the root commit) in the shallow clone.
	root := strings.TrimSpace(gitIn(t, origin, "rev-list", "--max-parents=0", "HEAD"))
	v1 := fmt.Sprintf(`{"version": 1, "keyId": %q, "findings": []}`, scanner.NewFingerprinter(root, nil).KeyID())
	writeFile(t, filepath.Join(shallow, ".latchkey-baseline.json"), v1)
	t.Chdir(shallow)
	code, _, errOut := run(t, "", "scan")
	if code != 2 || !strings.Contains(errOut, "shallow clone") || !strings.Contains(errOut, "fetch-depth: 0") || strings.Contains(errOut, "check LATCHKEY_FINGERPRINT_KEY") {
		t.Errorf("version 1 baseline in a shallow clone: exit %d, %s", code, errOut)
	}
	writeFile(t, filepath.Join(origin, ".latchkey-baseline.json"), v1)
	t.Chdir(origin)
	if code, _, errOut := run(t, "", "scan"); code != 1 {
		t.Errorf("version 1 baseline in the full clone still read (with no entries: exit 1), got %d %s", code, errOut)
	}
	t.Setenv("LATCHKEY_FINGERPRINT_KEY", "other")
	if code, _, errOut := run(t, "", "scan"); code != 2 || !strings.Contains(errOut, "LATCHKEY_FINGERPRINT_KEY") {
		t.Errorf("version 1 baseline with another key: exit %d %s", code, errOut)
	}
}

// The installed hook honours the baseline of .latchkey.yaml: an accepted
// finding does not block commits touching its file; a new one is blocked
// with the next steps.
func TestScanHookHonoursTheBaseline(t *testing.T) {
	t.Parallel() // its repositories, PATH and PRE_COMMIT_HOME are its own (no t.Setenv)
	bin := buildLatchkey(t)
	repo := gitRepo(t, map[string]string{"README.md": "repo\n"})
	writeFile(t, filepath.Join(repo, ".latchkey.yaml"), "baseline: .latchkey-baseline.json\n")
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  password: Acc-8s7d6f5g\n")
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	sh := func(script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir, cmd.Env = filepath.Join(repo, "apps"), env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sh("latchkey scan install-hook && latchkey scan --write-baseline ../.latchkey-baseline.json"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	commit := "git add -A && git -c user.name=t -c user.email=t@example.com commit -q -m x"
	if out, err := sh(commit); err != nil {
		t.Fatalf("commit with an accepted finding blocked: %v\n%s", err, out)
	}
	head := "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\ntype: Opaque\nstringData:\n  password: Acc-8s7d6f5g\n"
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), head)
	if out, err := sh(commit); err != nil {
		t.Fatalf("commit touching the file of an accepted finding blocked: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), head+"  token: New-8s7d6f5g\n")
	out, err := sh(commit)
	if err == nil {
		t.Fatalf("commit with a new secret passed:\n%s", out)
	}
	for _, want := range []string{"commit blocked", "nothing was committed", "apps/db/secret.yaml:7", "vault kv put secret/db token=-",
		"<path:secret/data/db#token>", "latchkey seal -f apps/db/secret.yaml -w apps/db/secret.sealed.yaml", "latchkey:allow",
		"git commit --no-verify", "SKIP=latchkey-scan"} {
		if !strings.Contains(out, want) {
			t.Errorf("blocked commit message lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "New-8s7d6f5g") {
		t.Errorf("hook output carries the secret")
	}

	// The same through the pre-commit framework (Debian's pre-commit, a
	// local hook running the same command as the hook id latchkey-scan).
	if _, err := exec.LookPath("pre-commit"); err != nil {
		testenv.Unavailable(t, "pre-commit is not installed (apt-get install pre-commit)")
	}
	repo = gitRepo(t, map[string]string{"README.md": "repo\n"})
	writeFile(t, filepath.Join(repo, ".pre-commit-config.yaml"), "repos:\n  - repo: local\n    hooks:\n      - id: latchkey-scan\n"+
		"        name: latchkey scan\n        entry: latchkey scan --staged\n        language: system\n        pass_filenames: false\n        always_run: true\n")
	writeFile(t, filepath.Join(repo, ".latchkey.yaml"), "baseline: .latchkey-baseline.json\n")
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), head)
	env = append(env, "PRE_COMMIT_HOME="+t.TempDir())
	if out, err := sh("pre-commit install && latchkey scan --write-baseline ../.latchkey-baseline.json && " + commit); err != nil {
		t.Fatalf("pre-commit: commit with an accepted finding blocked: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), "# edited\n"+head)
	if out, err := sh(commit); err != nil {
		t.Fatalf("pre-commit: commit touching the file of an accepted finding blocked: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(repo, "apps/db/secret.yaml"), head+"  token: New-8s7d6f5g\n")
	if out, err := sh(commit); err == nil || !strings.Contains(out, "commit blocked") {
		t.Fatalf("pre-commit: new secret not blocked (%v):\n%s", err, out)
	}
}

// Standard input and files without a YAML extension are read as manifests
// when they hold one.
func TestScanSniffsManifests(t *testing.T) {
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata:\n  password: " + "U25pZi04czdkNmY1Zw==" + "\n"
	if code, out, errOut := run(t, secret, "scan", "-"); code != 1 || !strings.Contains(out, "kubernetes-secret") {
		t.Errorf("cat secret.yaml | latchkey scan -: exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"secret", "secret.yaml.j2", "secret.txt", "secret.yaml.tmpl"} {
		dir := t.TempDir()
		content := secret
		if strings.HasSuffix(name, ".j2") {
			content = "{% if prod %}\n" + secret + "{% endif %}\n"
		}
		writeFile(t, filepath.Join(dir, name), content)
		if code, out, errOut := run(t, "", "scan", dir); code != 1 || !strings.Contains(out, "kubernetes-secret") {
			t.Errorf("%s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	// Prose that mentions the words is not a manifest.
	if code, out, _ := run(t, "Set the kind: field and the apiVersion: field.\npassword is base64: U25pZi04czdkNmY1Zw==\n", "scan", "-"); code != 0 {
		t.Errorf("prose read as a manifest: %s", out)
	}
}

// The fix text of every check is complete in every format: no fmt error
// verbs such as %!(EXTRA string=...).
func TestScanFixTextsInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sealed.yaml"), "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\n"+
		"spec:\n  encryptedData:\n    password: not-ciphertext-8s7d6f5g\n  template:\n    stringData:\n      token: Tpl-8s7d6f5g\n")
	writeFile(t, filepath.Join(dir, "app.sops.yaml"), "password: Sops-8s7d6f5g\nsops:\n  version: 3.8.1\n  mac: ENC[AES256_GCM,data:abc,type:str]\n")
	for _, format := range []string{"text", "json", "SARIF", "Json"} {
		code, out, errOut := run(t, "", "scan", "-o", format, dir)
		if code != 1 {
			t.Fatalf("--format %s: exit %d %s", format, code, errOut)
		}
		for _, rule := range []string{"sealedsecret-plaintext", "sops-unencrypted"} {
			if !strings.Contains(out, rule) {
				t.Errorf("--format %s: no %s finding\n%s", format, rule, out)
			}
		}
		if strings.Contains(out, "%!") {
			t.Errorf("--format %s: broken fix text:\n%s", format, out)
		}
	}
	if code, _, errOut := run(t, "", "scan", "-o", "out.sarif", dir); code != 2 || !strings.Contains(errOut, "-w/--output") {
		t.Errorf("-o FILE: exit %d, %s; want the hint that -o is the format", code, errOut)
	}
}

// A finding only in history says to rotate; --git alone scans all history.
func TestScanHistoryOnlyFindingSaysRotate(t *testing.T) {
	repo := gitRepo(t, map[string]string{"values.yaml": "password: Gone-8s7d6f5g\n", "keep.env": "API_TOKEN=Kept-8s7d6f5g\n"})
	writeFile(t, filepath.Join(repo, "values.yaml"), "password: <path:secret/data/app#password>\n")
	gitIn(t, repo, "commit", "-q", "-am", "use a reference")
	t.Chdir(repo)
	code, out, errOut := run(t, "", "scan", "--git", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var r struct{ Findings []scanner.Finding }
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Findings) != 2 {
		t.Fatalf("findings %v %s", err, out)
	}
	for _, f := range r.Findings {
		switch f.File {
		case "values.yaml":
			if !strings.HasPrefix(f.Fix, "rotate: it is in history") {
				t.Errorf("history-only finding: fix %q", f.Fix)
			}
		case "keep.env":
			if strings.HasPrefix(f.Fix, "rotate: it is in history") || !strings.HasSuffix(f.Fix, "rotate it too") {
				t.Errorf("finding still in HEAD: fix %q", f.Fix)
			}
		}
	}
}

// --exit-code and --redact behave as gitleaks' flags do.
func TestScanExitCodeAndRedact(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "values.yaml"), "password: Red-8s7d6f5g-long\n")
	if code, _, _ := run(t, "", "scan", "--exit-code", "0", dir); code != 0 {
		t.Errorf("--exit-code 0: exit %d", code)
	}
	if code, _, _ := run(t, "", "scan", "--exit-code", "3", dir); code != 3 {
		t.Errorf("--exit-code 3: exit %d", code)
	}
	_, out, _ := run(t, "", "scan", dir)
	if !strings.Contains(out, "secret: Red-*****") {
		t.Errorf("default mask: %s", out)
	}
	_, out, _ = run(t, "", "scan", "--redact", dir)
	if !strings.Contains(out, "secret: *****") {
		t.Errorf("--redact: %s", out)
	}
	_, out, _ = run(t, "", "scan", "--redact=90", dir)
	if !strings.Contains(out, "secret: R*****") {
		t.Errorf("--redact=90: %s", out)
	}
}

// gitleaks' habits: its inline marker, detect-secrets' pragma and the
// previous-line form.
func TestScanAllowMarkers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "values.yaml"), "a:\n  password: One-8s7d6f5g # gitleaks:allow\n"+
		"  token: Two-8s7d6f5g # pragma: allowlist secret\n  # latchkey:allow fixture\n  secret: Three-8s7d6f5g\n"+
		"  # pragma: allowlist nextline secret\n  apiKey: Four-8s7d6f5g\n  credentials: Five-8s7d6f5g\n")
	code, out, _ := run(t, "", "scan", "-o", "json", dir)
	var r struct{ Findings []scanner.Finding }
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || len(r.Findings) != 1 || r.Findings[0].Line != 8 {
		t.Fatalf("want only line 8 reported, got exit %d %s", code, out)
	}
}

func TestVersionFlag(t *testing.T) {
	code, out, _ := run(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "latchkey ") {
		t.Fatalf("--version: exit %d %q", code, out)
	}
	_, v, _ := run(t, "", "version")
	if out != v {
		t.Errorf("--version %q differs from version %q", out, v)
	}
}

// Outside Git, the nearest directory holding .latchkey.yaml is the root.
func TestScanOutsideGitAnchorsAtTheConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".latchkey.yaml"), "allow:\n  paths: [\"apps/fixtures/**\"]\n")
	writeFile(t, filepath.Join(dir, "apps/fixtures/values.yaml"), "password: Fix-8s7d6f5g\n")
	writeFile(t, filepath.Join(dir, "apps/x.env"), "API_TOKEN=New-8s7d6f5g\n")
	t.Chdir(filepath.Join(dir, "apps"))
	code, out, errOut := run(t, "", "scan", "-o", "sarif")
	uris, _ := sarifResults(t, out)
	if code != 1 || len(uris) != 1 || uris[0] != "apps/x.env" {
		t.Fatalf("exit %d, uris %v, want [apps/x.env]\n%s", code, uris, errOut)
	}
}
