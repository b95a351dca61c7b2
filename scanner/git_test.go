package scanner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// gitRepo is a real Git repository in a temporary directory.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Unavailable(t, "git is not installed")
	}
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.email", "test@example.com")
	r.git("config", "user.name", "test")
	r.git("config", "commit.gpgsign", "false")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *gitRepo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func runSource(t *testing.T, src Source) []Finding {
	t.Helper()
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

func TestStagedReadsTheIndexNotTheWorkTree(t *testing.T) {
	r := newGitRepo(t)
	r.write("clean.yaml", "a: 1\n")
	r.write("untouched/values.yaml", "password: Old-8s7d6f5g\n") // committed before: not part of this commit
	r.commit("first")

	// Staged: a secret on line 3. Work tree: fixed afterwards, not staged.
	r.write("app/values.yaml", "replicas: 1\nimage: x\npassword: Stg-8s7d6f5g\n")
	r.git("add", "app/values.yaml")
	r.write("app/values.yaml", "password: \"\"\n")
	// Unstaged change with a secret: not scanned.
	r.write("clean.yaml", "token: Unstaged-8s7d6f5g\n")

	got := runSource(t, &Staged{Repo: r.dir})
	if len(got) != 1 || got[0].File != "app/values.yaml" || got[0].Line != 3 {
		t.Fatalf("findings = %+v, want app/values.yaml:3 from the index only", got)
	}
}

func TestStagedFirstCommit(t *testing.T) {
	r := newGitRepo(t)
	r.write("s.env", "API_TOKEN=First-8s7d6f5g\n")
	r.git("add", "s.env")
	if got := runSource(t, &Staged{Repo: r.dir}); len(got) != 1 {
		t.Fatalf("findings = %+v, want 1 before the first commit", got)
	}
}

func TestHistoryReportsTheIntroducingCommit(t *testing.T) {
	r := newGitRepo(t)
	r.write("README.md", "hello\n")
	base := r.commit("base")
	r.write("apps/db/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: Hist-8s7d6f5g\n")
	leak := r.commit("leak")
	r.write("apps/db/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: <path:secret/data/db#password>\n")
	r.write("copy/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: Hist-8s7d6f5g\n")
	r.commit("fix, but copy the old file")

	got := runSource(t, &History{Repo: r.dir, Range: base + "..HEAD"})
	// The leaked blob is scanned once and attributed to the commit that
	// introduced it; the copy is the same blob.
	if len(got) != 1 || got[0].Commit != leak || got[0].File != "apps/db/secret.yaml" || got[0].Line != 5 || got[0].Column != 13 {
		t.Fatalf("findings = %+v, want one in %s at apps/db/secret.yaml:5:13", got, leak)
	}
	if all := runSource(t, &History{Repo: r.dir, All: true}); len(all) != 1 {
		t.Fatalf("--all findings = %+v, want 1", all)
	}
	// Within leak..HEAD only the copy adds the blob: it is a leak of its own.
	if later := runSource(t, &History{Repo: r.dir, Range: leak + "..HEAD"}); len(later) != 1 || later[0].File != "copy/secret.yaml" {
		t.Fatalf("findings after the leak = %+v, want the copy only", later)
	}
}

func TestWorktreeHonoursGitignore(t *testing.T) {
	r := newGitRepo(t)
	r.write(".gitignore", "*.local.env\nbuild/\n!keep.local.env\n")
	r.write("sub/.gitignore", "secret-notes.txt\n")
	r.write("a.local.env", "DB_PASSWORD=Ign-8s7d6f5g\n")
	r.write("keep.local.env", "DB_PASSWORD=Keep-8s7d6f5g\n")
	r.write("build/out.env", "DB_PASSWORD=Build-8s7d6f5g\n")
	r.write("sub/secret-notes.txt", "ghp_0123456789abcdefghijABCDEFGHIJ012345\n")
	r.write("sub/other.txt", "ghp_0123456789abcdefghijABCDEFGHIJ012345\n")
	got := runSource(t, &Worktree{Root: r.dir})
	var files []string
	for _, f := range got {
		files = append(files, f.File)
	}
	if strings.Join(files, ",") != "keep.local.env,sub/other.txt" {
		t.Fatalf("files with findings = %v, want keep.local.env and sub/other.txt", files)
	}
}

func TestKustomizeFollowsGeneratorFiles(t *testing.T) {
	r := newGitRepo(t)
	r.write("k/kustomization.yaml", "secretGenerator:\n  - name: s\n    envs: [db.env]\n    files: [token.txt]\nresources: []\n")
	r.write("k/db.env", "DB_HOST=db\nDB_OPTS=Opaque-8s7d6f5g\n")
	r.write("k/token.txt", "Tok-8s7d6f5g\n")
	got := positionsWithFiles(runSource(t, &Worktree{Root: r.dir}))
	if got != "k/db.env:2, k/token.txt:1" {
		t.Fatalf("findings = %s", got)
	}
}

func positionsWithFiles(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.File+":"+strconv.Itoa(f.Line))
	}
	return strings.Join(out, ", ")
}
