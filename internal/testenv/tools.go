package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// toolsDirEnv overrides the root of the tool cache (the directory holding
// <name>-<version>/), as tools/install.sh does.
const toolsDirEnv = "LATCHKEY_TOOLS_DIR"

// toolPath returns where `make tools` puts the binary name at version:
// ${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}/<name>-<version>/<name>.
// It returns the path together with an error naming `make tools` when no
// executable is there.
func toolPath(name, version string) (string, error) {
	root, err := toolsRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, name+"-"+version, name)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return path, fmt.Errorf("%s %s is not built (%s missing): run `make tools`", name, version, path)
	case err != nil:
		return path, fmt.Errorf("%s %s: %w", name, version, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return path, fmt.Errorf("%s %s: %s is not an executable file: run `make tools`", name, version, path)
	}
	return path, nil
}

// toolsRoot spells out the XDG lookup instead of using os.UserCacheDir, which
// differs on macOS from what tools/install.sh computes in shell.
func toolsRoot() (string, error) {
	if dir := os.Getenv(toolsDirEnv); dir != "" {
		return dir, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the tool cache: neither %s, XDG_CACHE_HOME nor HOME is set", toolsDirEnv)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "latchkey", "tools"), nil
}

// requireTool returns the path of a built tool, or ends the test through
// missing when `make tools` has not built it.
func requireTool(t testing.TB, name, version string) string {
	t.Helper()
	path, err := toolPath(name, version)
	if err != nil {
		Unavailable(t, err.Error())
	}
	return path
}
