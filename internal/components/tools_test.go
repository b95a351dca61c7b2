package components

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInstallScriptAgreesWithTheToolTable holds tools/install.sh's manifest,
// the go.mod files under tools/ and the Makefile to Tools, the one place a
// version is chosen: a bump made in one of them alone fails here.
func TestInstallScriptAgreesWithTheToolTable(t *testing.T) {
	root := moduleRoot(t)
	script := readFile(t, filepath.Join(root, "tools", "install.sh"))
	manifest := installManifest(t, script)
	if len(manifest) != len(Tools) {
		t.Fatalf("tools/install.sh builds %d tools, components.Tools has %d", len(manifest), len(Tools))
	}
	onDemand := onDemandTools(t, script)
	for i, tool := range Tools {
		m := manifest[i]
		if m.Name != tool.Name || m.Version != tool.Version || m.ModuleDir != tool.ModuleDir || m.Package != tool.Package {
			t.Errorf("tools/install.sh line %d builds %+v, components.Tools says %+v", i+1, m, tool)
		}
		if onDemand[tool.Name] != tool.OnDemand {
			t.Errorf("%s: on demand in tools/install.sh %t, in components.Tools %t", tool.Name, onDemand[tool.Name], tool.OnDemand)
		}
		for _, v := range versionRE.FindAllString(m.LDFlags, -1) {
			if v != tool.Version {
				t.Errorf("%s: tools/install.sh stamps version %s into the binary, components.Tools says %s", tool.Name, v, tool.Version)
			}
		}
		gomod := readFile(t, filepath.Join(root, "tools", tool.ModuleDir, "go.mod"))
		if got := requiredVersion(gomod, tool.Module); got != tool.Version {
			t.Errorf("%s: tools/%s/go.mod requires %s %q, components.Tools says %s", tool.Name, tool.ModuleDir, tool.Module, got, tool.Version)
		}
	}
}

// TestMakefileSpellsNoToolVersion: the Makefile finds tools through
// `tools/install.sh --path`, so it has no version to get out of date.
func TestMakefileSpellsNoToolVersion(t *testing.T) {
	makefile := readFile(t, filepath.Join(moduleRoot(t), "Makefile"))
	for _, tool := range Tools {
		if strings.Contains(makefile, tool.Name+"-v") {
			t.Errorf("the Makefile spells a versioned path of %s; use $(shell tools/install.sh --path %s)", tool.Name, tool.Name)
		}
	}
}

// TestInstallScriptPathIsWhereTheLauncherLooks runs `tools/install.sh
// --path` for every tool and compares it with ToolPath.
func TestInstallScriptPathIsWhereTheLauncherLooks(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	root := moduleRoot(t)
	t.Setenv(ToolsDirEnv, t.TempDir())
	for _, tool := range Tools {
		out, err := exec.Command(bash, filepath.Join(root, "tools", "install.sh"), "--path", tool.Name).Output()
		if err != nil {
			t.Fatalf("tools/install.sh --path %s: %v", tool.Name, err)
		}
		want, _ := ToolPath(tool.Name)
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("tools/install.sh --path %s = %s, the launcher looks at %s", tool.Name, got, want)
		}
	}
}

// TestDocsQuoteTheTableVersions: README.md and docs/ name a tool's module
// with its version ("k8s.io/kubernetes v1.37.2"); each such mention follows
// the table.
func TestDocsQuoteTheTableVersions(t *testing.T) {
	root := moduleRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(docs, filepath.Join(root, "README.md")) {
		text := readFile(t, path)
		for _, tool := range Tools {
			re := regexp.MustCompile(regexp.QuoteMeta(tool.Module) + ` (v\d+\.\d+\.\d+)`)
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if m[1] != tool.Version {
					t.Errorf("%s quotes %s %s, components.Tools says %s", filepath.Base(path), tool.Module, m[1], tool.Version)
				}
			}
		}
	}
}

var versionRE = regexp.MustCompile(`v\d+\.\d+\.\d+`)

type manifestLine struct{ Name, Version, ModuleDir, Package, LDFlags string }

// installManifest parses the here-document of install.sh's manifest().
func installManifest(t *testing.T, script string) []manifestLine {
	t.Helper()
	_, rest, ok := strings.Cut(script, "cat <<'TOOLS'\n")
	body, _, ok2 := strings.Cut(rest, "\nTOOLS\n")
	if !ok || !ok2 {
		t.Fatal("tools/install.sh: no manifest here-document (cat <<'TOOLS' ... TOOLS)")
	}
	var out []manifestLine
	for _, line := range strings.Split(body, "\n") {
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			t.Fatalf("tools/install.sh manifest line %q: want name|version|dir|package|ldflags", line)
		}
		out = append(out, manifestLine{f[0], f[1], f[2], f[3], f[4]})
	}
	return out
}

// onDemandTools parses the case pattern of install.sh's on_demand().
func onDemandTools(t *testing.T, script string) map[string]bool {
	t.Helper()
	m := regexp.MustCompile(`(?s)on_demand\(\) \{\s*case \$1 in ([^)]*)\)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("tools/install.sh: no on_demand() case pattern")
	}
	out := map[string]bool{}
	for _, name := range strings.Split(m[1], "|") {
		out[strings.TrimSpace(name)] = true
	}
	return out
}

// requiredVersion finds module's version in a go.mod's require lines.
func requiredVersion(gomod, module string) string {
	re := regexp.MustCompile(`(?m)^(?:require)?\s+` + regexp.QuoteMeta(module) + `\s+(v\S+)`)
	if m := re.FindStringSubmatch(gomod); m != nil {
		return m[1]
	}
	return ""
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
