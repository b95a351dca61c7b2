package components

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Pinned versions of the real components. tools/install.sh builds these
// (TestInstallScriptAgreesWithTheToolTable checks its manifest against Tools)
// and the launcher runs these; nothing else spells a version.
const (
	EtcdVersion          = "v3.6.16"
	KubeAPIServerVersion = "v1.37.2"
	VaultVersion         = "v1.21.0"
	SealedSecretsVersion = "v0.36.0"
	GitleaksVersion      = "v8.30.1"
	ControllerGenVersion = "v0.23.0"
	StaticcheckVersion   = "v0.8.2"
	FluxVersion          = "v1.9.6"
	RegistryVersion      = "v3.1.2"
)

// Tool is one binary `make tools` builds from a pinned Go module.
type Tool struct {
	Name, Version string
	// Module is the Go module the tool comes from, required at Version by
	// the go.mod in tools/<ModuleDir>; Package is the package built there.
	Module, ModuleDir, Package string
	// OnDemand tools are built only when named (tools/install.sh flux): no
	// test needs them.
	OnDemand bool
}

// Tools is every tool, in the order tools/install.sh builds them.
var Tools = []Tool{
	{Name: "etcd", Version: EtcdVersion,
		Module: "go.etcd.io/etcd/server/v3", ModuleDir: "etcd", Package: "go.etcd.io/etcd/server/v3"},
	{Name: "kube-apiserver", Version: KubeAPIServerVersion,
		Module: "k8s.io/kubernetes", ModuleDir: "kube-apiserver", Package: "."},
	{Name: "vault", Version: VaultVersion,
		Module: "github.com/hashicorp/vault", ModuleDir: "vault", Package: "."},
	{Name: "kubeseal", Version: SealedSecretsVersion,
		Module: "github.com/bitnami-labs/sealed-secrets", ModuleDir: "sealed-secrets", Package: "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal"},
	{Name: "sealed-secrets-controller", Version: SealedSecretsVersion,
		Module: "github.com/bitnami-labs/sealed-secrets", ModuleDir: "sealed-secrets", Package: "github.com/bitnami-labs/sealed-secrets/cmd/controller"},
	{Name: "gitleaks", Version: GitleaksVersion,
		Module: "github.com/zricethezav/gitleaks/v8", ModuleDir: "gitleaks", Package: "github.com/zricethezav/gitleaks/v8"},
	{Name: "controller-gen", Version: ControllerGenVersion,
		Module: "sigs.k8s.io/controller-tools", ModuleDir: "controller-gen", Package: "sigs.k8s.io/controller-tools/cmd/controller-gen"},
	{Name: "staticcheck", Version: StaticcheckVersion,
		Module: "honnef.co/go/tools", ModuleDir: "staticcheck", Package: "honnef.co/go/tools/cmd/staticcheck"},
	{Name: "registry", Version: RegistryVersion,
		Module: "github.com/distribution/distribution/v3", ModuleDir: "registry", Package: "github.com/distribution/distribution/v3/cmd/registry"},
	{Name: "source-controller", Version: FluxVersion,
		Module: "github.com/fluxcd/source-controller", ModuleDir: "flux", Package: "github.com/fluxcd/source-controller", OnDemand: true},
	{Name: "kustomize-controller", Version: FluxVersion,
		Module: "github.com/fluxcd/kustomize-controller", ModuleDir: "flux", Package: "github.com/fluxcd/kustomize-controller", OnDemand: true},
}

// ToolsDirEnv overrides the root of the tool cache (the directory holding
// <name>-<version>/), as tools/install.sh does.
const ToolsDirEnv = "LATCHKEY_TOOLS_DIR"

// ToolPath returns the built binary of the tool name at the version of the
// table. See ToolPathAt.
func ToolPath(name string) (string, error) {
	for _, t := range Tools {
		if t.Name == name {
			return ToolPathAt(name, t.Version)
		}
	}
	return "", fmt.Errorf("no tool %q in components.Tools: add it there and to tools/install.sh", name)
}

// ToolPathAt returns where `make tools` puts the binary name at version:
// ${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}/<name>-<version>/<name>.
// It returns the path together with an ErrUnavailable error naming `make
// tools` when no executable is there.
func ToolPathAt(name, version string) (string, error) {
	root, err := ToolsDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, name+"-"+version, name)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return path, unavailable("%s %s is not built (%s missing): run `make tools`", name, version, path)
	case err != nil:
		return path, fmt.Errorf("%s %s: %w", name, version, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return path, unavailable("%s %s: %s is not an executable file: run `make tools`", name, version, path)
	}
	return path, nil
}

// ToolsDir spells out the XDG lookup instead of using os.UserCacheDir, which
// differs on macOS from what tools/install.sh computes in shell.
func ToolsDir() (string, error) {
	if dir := os.Getenv(ToolsDirEnv); dir != "" {
		return dir, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", unavailable("locating the tool cache: neither %s, XDG_CACHE_HOME nor HOME is set", ToolsDirEnv)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "latchkey", "tools"), nil
}
