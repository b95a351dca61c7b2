package tenancy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

var on = Policy{
	Enabled:                true,
	ClusterKinds:           []schema.GroupKind{{Kind: "Namespace"}},
	VaultAddresses:         []string{"https://vault.example:8200", "http://vault.lab"},
	VaultDefaultNamespaces: []string{"platform"},
	KeysNamespace:          "kube-system",
	KeysNamespaces:         []string{"sealed-secrets"},
}

func TestServiceAccountDefaultsAndIsRequiredWithTenancyOn(t *testing.T) {
	withDefault := on
	withDefault.DefaultServiceAccount = "latchkey-sync"
	for _, c := range []struct {
		name   string
		p      Policy
		spec   string
		want   string
		denied bool
	}{
		{"tenancy off, none named: the controller itself", Policy{}, "", "", false},
		{"tenancy off, one named: impersonated all the same", Policy{}, "deployer", "deployer", false},
		{"tenancy on, named", on, "deployer", "deployer", false},
		{"tenancy on, none named, default set", withDefault, "", "latchkey-sync", false},
		{"tenancy on, none named, no default", on, "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.ServiceAccount("team-a", c.spec)
			if c.denied != IsDenied(err) || got != c.want {
				t.Fatalf("got %q, %v; want %q, denied=%t", got, err, c.want, c.denied)
			}
			if c.denied && !strings.Contains(err.Error(), "--default-service-account") {
				t.Errorf("the refusal should name the fix: %v", err)
			}
		})
	}
}

func TestObjectsStayInTheSyncsNamespaceAndClusterKindsNeedTheAllowlist(t *testing.T) {
	cross := on
	cross.AllowCrossNamespace = true
	crb := schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}
	cm := schema.GroupKind{Kind: "ConfigMap"}
	for _, c := range []struct {
		name   string
		p      Policy
		gk     schema.GroupKind
		ns     string
		denied string
	}{
		{"own namespace", on, cm, "team-a", ""},
		{"another namespace", on, cm, "kube-system", "--allow-cross-namespace"},
		{"another namespace, cross allowed", cross, cm, "kube-system", ""},
		{"cluster kind not listed", on, crb, "", "--allowed-cluster-kinds=ClusterRoleBinding.rbac.authorization.k8s.io"},
		{"cluster kind listed", on, schema.GroupKind{Kind: "Namespace"}, "", ""},
		{"cross allowed does not open cluster kinds", cross, crb, "", "--allowed-cluster-kinds"},
		{"tenancy off: RBAC alone decides", Policy{}, crb, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.CheckObject("team-a", c.gk, c.ns)
			if c.denied == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !IsDenied(err) || !strings.Contains(err.Error(), c.denied) {
				t.Fatalf("got %v, want a refusal naming %s", err, c.denied)
			}
		})
	}
}

func TestTargetNamespaceIsConfined(t *testing.T) {
	if err := on.CheckTargetNamespace("team-a", "team-b"); !IsDenied(err) {
		t.Errorf("team-b as target: %v", err)
	}
	for _, target := range []string{"", "team-a"} {
		if err := on.CheckTargetNamespace("team-a", target); err != nil {
			t.Errorf("target %q: %v", target, err)
		}
	}
}

func TestSourceHosts(t *testing.T) {
	p := Policy{Enabled: true, SourceHosts: []string{"github.com", "*.corp.example", "git.lab:8443"}}
	for url, ok := range map[string]bool{
		"https://github.com/org/repo":        true,
		"https://GitHub.com:443/org/repo":    true,
		"ssh://git@github.com/org/repo":      true,
		"https://git.corp.example/x":         true,
		"https://corp.example/x":             false,
		"https://evilcorp.example/x":         false,
		"https://git.lab:8443/x":             true,
		"https://git.lab/x":                  false,
		"http://169.254.169.254/latest/meta": false,
		"https://github.com.evil.example/x":  false,
		"not a url":                          false,
	} {
		if err := p.CheckSource(url); (err == nil) != ok {
			t.Errorf("%s: allowed=%t, want %t (%v)", url, err == nil, ok, err)
		}
	}
	if err := (&Policy{Enabled: true}).CheckSource("https://anywhere.example/x"); err != nil {
		t.Errorf("no allowlist means any host: %v", err)
	}
}

func TestVaultAddressesAreCheckedByOriginAndSchemeMatters(t *testing.T) {
	for addr, ok := range map[string]bool{
		"https://vault.example:8200":    true,
		"https://vault.example:8200/":   true,
		"https://VAULT.example:8200":    true,
		"http://vault.example:8200":     false, // https listed, not http
		"https://vault.example":         false, // another port
		"http://vault.lab":              true,  // the admin listed plain HTTP
		"https://attacker.example:8200": false,
		"ftp://vault.example:8200":      false,
		"vault.example:8200":            false,
	} {
		if err := on.CheckVaultAddress(addr); (err == nil) != ok {
			t.Errorf("%s: allowed=%t, want %t (%v)", addr, err == nil, ok, err)
		}
	}
	if err := (&Policy{}).CheckVaultAddress("http://anything.example"); err != nil {
		t.Errorf("tenancy off allows any address (never with the controller's credentials): %v", err)
	}
}

func TestControllerVaultAndKeysNamespaces(t *testing.T) {
	if !on.MayUseControllerVault("platform") || on.MayUseControllerVault("team-a") {
		t.Error("only listed namespaces use the controller's Vault credentials")
	}
	if !(&Policy{}).MayUseControllerVault("team-a") {
		t.Error("tenancy off: every namespace does")
	}
	for ns, ok := range map[string]bool{"": true, "kube-system": true, "sealed-secrets": true, "team-b": false} {
		if err := on.CheckKeysNamespace(ns); (err == nil) != ok {
			t.Errorf("keys namespace %q: allowed=%t, want %t", ns, err == nil, ok)
		}
	}
}

func TestParseKinds(t *testing.T) {
	got, err := ParseKinds([]string{"Namespace", "ClusterRole.rbac.authorization.k8s.io", " "})
	if err != nil {
		t.Fatal(err)
	}
	want := []schema.GroupKind{{Kind: "Namespace"}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := ParseKinds([]string{"rbac.authorization.k8s.io/v1/ClusterRole"}); err == nil {
		t.Error("a GVK path is not a kind")
	}
}
