package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The point of this binary is to build in seconds: none of the controller's
// clients may creep in through a shared package.
func TestBuildsWithoutControllerDependencies(t *testing.T) {
	out, err := exec.Command(needTool(t, "go"), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"k8s.io/", "sigs.k8s.io/", "helm.sh/", "github.com/hashicorp/vault",
		"github.com/go-git/", "github.com/bitnami-labs/sealed-secrets",
		"github.com/latchkey-dev/latchkey/reconcile", "github.com/latchkey-dev/latchkey/render",
		"github.com/latchkey-dev/latchkey/sealing", "github.com/latchkey-dev/latchkey/resolver/vault",
	}
	var deps []string
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("latchkey-scan depends on %s", pkg)
			}
		}
		if strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
			deps = append(deps, pkg)
		}
	}
	t.Logf("non-standard-library packages: %s", strings.Join(deps, " "))
}
