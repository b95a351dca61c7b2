package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The CI examples under examples/ci are run here as the CI systems would run
// them, step by step, against a depth-1 clone of a repository: with a planted
// secret the job fails and the SARIF report has it, on a clean repository the
// job passes. latchkey-scan is built by the examples' own steps, from a local
// repository holding this checkout's sources (LATCHKEY_REPO), never from the
// network.

func examplePath(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(moduleRoot(t), "examples", "ci", name)
}

// goMinor is the go directive of go.mod cut to major.minor (1.26), the version
// the examples must ask their CI for.
func goMinor(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return string(m[1])
}

// shallowWorkspace is what a CI checkout gives a job: a depth-1 clone of a
// repository with some history, whose last commit adds name with content.
func shallowWorkspace(t *testing.T, name, content string) string {
	t.Helper()
	repo := newRepo(t, map[string]string{"README.md": "apps\n"})
	writeFile(t, filepath.Join(repo, name), content)
	mustGit(t, repo, "add", name)
	mustGit(t, repo, "commit", "-q", "-m", "add "+name)
	ws := filepath.Join(t.TempDir(), "workspace")
	mustGit(t, filepath.Dir(ws), "clone", "-q", "--depth", "1", "file://"+repo, ws)
	if shallow := mustGit(t, ws, "rev-parse", "--is-shallow-repository"); shallow != "true" {
		t.Fatalf("workspace is not a shallow clone (%s)", shallow)
	}
	return ws
}

// sarifResults reads a SARIF report and returns its rule IDs.
func sarifResults(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("SARIF report: %v", err)
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 {
		t.Fatalf("%s is not a SARIF 2.1.0 report with one run (%v):\n%s", path, err, data)
	}
	var ids []string
	for _, r := range doc.Runs[0].Results {
		ids = append(ids, r.RuleID)
	}
	return ids
}

// The job outcomes both examples must have.
var ciCases = []struct {
	name    string
	file    string
	content string
	pass    bool
}{
	{"planted secret fails", "apps/db/secret.yaml", plantedSecret, false},
	{"clean repository passes", "apps/db/secret.yaml", cleanManifest, true},
}

// checkOutcome asserts the job result, its log and its SARIF report.
func checkOutcome(t *testing.T, pass, wantPass bool, log, sarif string) {
	t.Helper()
	if pass != wantPass {
		t.Fatalf("job passed=%v, want %v; log:\n%s", pass, wantPass, log)
	}
	if strings.Contains(log, "Cli-8s7d6f5g") {
		t.Errorf("job log carries the secret:\n%s", log)
	}
	ids := sarifResults(t, sarif)
	if wantPass && len(ids) != 0 {
		t.Errorf("clean repository: SARIF results %v", ids)
	}
	if !wantPass && (len(ids) != 1 || ids[0] != "kubernetes-secret" || !strings.Contains(log, "apps/db/secret.yaml")) {
		t.Errorf("planted secret: SARIF results %v, want [kubernetes-secret] and the file in the log:\n%s", ids, log)
	}
}

// --- GitHub Actions ---

type ghWorkflow struct {
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []ghStep          `yaml:"steps"`
	} `yaml:"jobs"`
}

type ghStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
	With map[string]any    `yaml:"with"`
}

// ghRunner runs one job of a workflow the way a GitHub-hosted runner does,
// for the expressions and actions the example uses; anything else fails the
// test, so the example cannot grow an untested step.
type ghRunner struct {
	t         *testing.T
	workspace string
	home      string
	temp      string
	outputs   map[string]map[string]string
	path      []string
	log       strings.Builder
	cachePath string // where actions/cache would save from
	sarif     string // what upload-sarif would upload
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func (r *ghRunner) eval(s string) string {
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		expr := ghExpr.FindStringSubmatch(m)[1]
		switch parts := strings.Split(expr, "."); {
		case expr == "runner.os":
			return "Linux"
		case expr == "runner.temp":
			return r.temp
		case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
			return r.outputs[parts[1]][parts[3]]
		}
		r.t.Fatalf("the GitHub example uses an expression this test does not evaluate: %s", m)
		return ""
	})
}

func (r *ghRunner) runJob(wf ghWorkflow, overrides map[string]string) bool {
	t := r.t
	if len(wf.Jobs) != 1 {
		t.Fatalf("want one job, got %d", len(wf.Jobs))
	}
	for _, job := range wf.Jobs {
		failed := false
		for i, st := range job.Steps {
			label := fmt.Sprintf("step %d %s%s", i, st.Name, st.Uses)
			var run bool
			switch st.If {
			case "":
				run = !failed
			case "always()":
				run = true
			case "steps.cache.outputs.cache-hit != 'true'":
				run = !failed && r.outputs["cache"]["cache-hit"] != "true"
			default:
				t.Fatalf("%s: condition %q not understood by this test", label, st.If)
			}
			if !run {
				fmt.Fprintf(&r.log, "## %s: skipped\n", label)
				continue
			}
			fmt.Fprintf(&r.log, "## %s\n", label)
			var ok bool
			if st.Uses != "" {
				ok = r.action(i, st)
			} else {
				ok = r.script(st, job.Env, overrides)
			}
			if !ok {
				failed = true
			}
		}
		return !failed
	}
	return false
}

// action stands in for the marketplace actions the example uses.
func (r *ghRunner) action(i int, st ghStep) bool {
	t := r.t
	name, _, _ := strings.Cut(st.Uses, "@")
	switch name {
	case "actions/checkout":
		// The workspace is already the depth-1 clone actions/checkout makes.
		if i != 0 {
			t.Fatalf("actions/checkout is step %d, want the first", i)
		}
	case "actions/setup-go":
		if v := fmt.Sprint(st.With["go-version"]); v != goMinor(t) {
			t.Errorf("setup-go asks for Go %s, go.mod needs %s", v, goMinor(t))
		}
	case "actions/cache":
		// A cold runner: a miss. The path must be where the build writes.
		path := r.eval(fmt.Sprint(st.With["path"]))
		if !strings.HasPrefix(path, "~/") {
			t.Fatalf("cache path %q: want a ~/ path", path)
		}
		r.cachePath = filepath.Join(r.home, path[2:])
		r.setOutput(st.ID, "cache-hit", "false")
	case "github/codeql-action/upload-sarif":
		r.sarif = r.eval(fmt.Sprint(st.With["sarif_file"]))
		if _, err := os.Stat(r.sarif); err != nil {
			fmt.Fprintf(&r.log, "upload-sarif: %v\n", err)
			return false
		}
	default:
		t.Fatalf("the GitHub example uses %s, which this test does not stand in for", st.Uses)
	}
	return true
}

func (r *ghRunner) setOutput(id, k, v string) {
	if r.outputs[id] == nil {
		r.outputs[id] = map[string]string{}
	}
	r.outputs[id][k] = v
}

// script runs a run: step as the runner does: bash -eo pipefail, with the
// job's and step's env, the GITHUB_* files, and PATH additions of earlier steps.
func (r *ghRunner) script(st ghStep, jobEnv, overrides map[string]string) bool {
	t := r.t
	if ghExpr.MatchString(st.Run) {
		t.Fatalf("step %q has ${{ }} in its run: block; pass it through env:", st.Name)
	}
	dir := t.TempDir()
	script, output, path := filepath.Join(dir, "step.sh"), filepath.Join(dir, "output"), filepath.Join(dir, "path")
	writeFile(t, script, st.Run)
	writeFile(t, output, "")
	writeFile(t, path, "")
	env := gitEnv(append(hostGoCaches(t), "HOME="+r.home, "CI=true", "GITHUB_ACTIONS=true", "RUNNER_OS=Linux", "RUNNER_TEMP="+r.temp,
		"GITHUB_WORKSPACE="+r.workspace, "GITHUB_OUTPUT="+output, "GITHUB_PATH="+path,
		"PATH="+strings.Join(append(r.path, os.Getenv("PATH")), string(os.PathListSeparator)))...)
	for _, m := range []map[string]string{jobEnv, st.Env, overrides} {
		for k, v := range m {
			env = append(env, k+"="+r.eval(v))
		}
	}
	out, err := sh(r.workspace, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	r.log.WriteString(out)
	if err != nil {
		fmt.Fprintf(&r.log, "step failed: %v\n", err)
	}
	for _, line := range readLines(t, output) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.Contains(k, "<<") {
			t.Fatalf("GITHUB_OUTPUT line %q: only name=value is understood by this test", line)
		}
		r.setOutput(st.ID, k, v)
	}
	r.path = append(readLines(t, path), r.path...)
	return err == nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

func TestGitHubActionsExample(t *testing.T) {
	needTool(t, "bash")
	needTool(t, "go")
	data, err := os.ReadFile(examplePath(t, "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf ghWorkflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("github-actions.yml: %v", err)
	}
	src, _ := sourceRepo(t)
	for _, tc := range ciCases {
		t.Run(tc.name, func(t *testing.T) {
			r := &ghRunner{t: t, workspace: shallowWorkspace(t, tc.file, tc.content), home: t.TempDir(), temp: t.TempDir(),
				outputs: map[string]map[string]string{}}
			pass := r.runJob(wf, map[string]string{"LATCHKEY_REPO": "file://" + src, "LATCHKEY_REF": "main"})
			if r.sarif == "" {
				t.Fatalf("the example uploads no SARIF; log:\n%s", r.log.String())
			}
			checkOutcome(t, pass, tc.pass, r.log.String(), r.sarif)
			if st, err := os.Stat(filepath.Join(r.cachePath, "latchkey-scan")); err != nil || st.Mode()&0o111 == 0 {
				t.Errorf("the binary is not in the cached path %s: %v", r.cachePath, err)
			}
		})
	}
}

// --- GitLab CI ---

type glJob struct {
	Image        string            `yaml:"image"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	Cache        struct {
		Paths []string `yaml:"paths"`
	} `yaml:"cache"`
	Artifacts struct {
		When  string   `yaml:"when"`
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
}

// runGitLabJob runs before_script and script in one bash -eo pipefail shell,
// as GitLab's runner does, in the workspace with the job's variables.
func runGitLabJob(t *testing.T, job glJob, ws string, overrides map[string]string) (bool, string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "job.sh")
	writeFile(t, script, strings.Join(append(append([]string{}, job.BeforeScript...), job.Script...), "\n")+"\n")
	env := gitEnv(append(hostGoCaches(t), "HOME="+t.TempDir(), "CI=true", "GITLAB_CI=true", "CI_PROJECT_DIR="+ws)...)
	for _, m := range []map[string]string{job.Variables, overrides} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	out, err := sh(ws, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	if err != nil {
		out += fmt.Sprintf("job failed: %v\n", err)
	}
	return err == nil, out
}

func TestGitLabCIExample(t *testing.T) {
	needTool(t, "bash")
	needTool(t, "go")
	data, err := os.ReadFile(examplePath(t, "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]glJob
	if err := yaml.Unmarshal(data, &jobs); err != nil {
		t.Fatalf("gitlab-ci.yml: %v", err)
	}
	job, ok := jobs["latchkey-scan"]
	if !ok || len(jobs) != 1 {
		t.Fatalf("want the one job latchkey-scan, got %d jobs", len(jobs))
	}
	if want := "golang:" + goMinor(t); job.Image != want {
		t.Errorf("image %s, go.mod needs %s", job.Image, want)
	}
	if job.Variables["GIT_DEPTH"] != "1" || job.Artifacts.When != "always" || len(job.Artifacts.Paths) != 1 || len(job.Cache.Paths) != 1 {
		t.Fatalf("job settings changed (GIT_DEPTH 1, one cached path, one artifact kept always): %+v", job)
	}
	src, _ := sourceRepo(t)
	overrides := map[string]string{"LATCHKEY_REPO": "file://" + src, "LATCHKEY_REF": "main"}
	cacheDir := strings.TrimSuffix(job.Cache.Paths[0], "/")
	var cached string // the cache dir the first job left, restored into the next one
	keep := t.TempDir()
	for _, tc := range ciCases {
		t.Run(tc.name, func(t *testing.T) {
			ws := shallowWorkspace(t, tc.file, tc.content)
			var built time.Time
			if cached != "" {
				if out, err := sh(ws, nil, "cp", "-a", cached, filepath.Join(ws, cacheDir)); err != nil {
					t.Fatalf("restoring the cache: %v %s", err, out)
				}
				st, err := os.Stat(filepath.Join(ws, cacheDir, "latchkey-scan"))
				if err != nil {
					t.Fatal(err)
				}
				built = st.ModTime()
			}
			pass, log := runGitLabJob(t, job, ws, overrides)
			checkOutcome(t, pass, tc.pass, log, filepath.Join(ws, job.Artifacts.Paths[0]))
			st, err := os.Stat(filepath.Join(ws, cacheDir, "latchkey-scan"))
			if err != nil {
				t.Fatalf("the binary is not in the cached path %s: %v", cacheDir, err)
			}
			if cached != "" && !st.ModTime().Equal(built) {
				t.Errorf("the job rebuilt latchkey-scan although the cache held it for this commit")
			}
			cached = filepath.Join(keep, tc.name)
			if out, err := sh(ws, nil, "cp", "-a", filepath.Join(ws, cacheDir), cached); err != nil {
				t.Fatalf("saving the cache: %v %s", err, out)
			}
		})
	}
}
