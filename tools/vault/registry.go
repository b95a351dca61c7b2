package main

import (
	kubeauth "github.com/hashicorp/vault-plugin-auth-kubernetes"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault/plugincatalog"
)

// builtins is the plugin catalog's view of what is compiled into this binary.
// Upstream's registry (helper/builtinplugins) imports every builtin plugin,
// which is what makes a full Vault build so heavy; this one holds only the
// plugins Latchkey's tests mount. The factories are the upstream ones, so a
// mount behaves exactly as in a full Vault and reports itself as builtin.
var builtins = registry{
	consts.PluginTypeCredential: {
		"approle":    approle.Factory,
		"kubernetes": kubeauth.Factory,
	},
	consts.PluginTypeSecrets: {
		"kv": kv.Factory,
	},
}

var _ plugincatalog.BuiltinRegistry = registry(nil)

type registry map[consts.PluginType]map[string]logical.Factory

func (r registry) Get(name string, typ consts.PluginType) (func() (interface{}, error), bool) {
	f, ok := r[typ][name]
	if !ok {
		return nil, false
	}
	return func() (interface{}, error) { return f, nil }, true
}

func (r registry) Contains(name string, typ consts.PluginType) bool {
	_, ok := r[typ][name]
	return ok
}

func (r registry) Keys(typ consts.PluginType) []string {
	keys := make([]string, 0, len(r[typ]))
	for name := range r[typ] {
		keys = append(keys, name)
	}
	return keys
}

// DeprecationStatus reports every compiled-in plugin as supported: none of the
// three is deprecated upstream in v1.21.
func (r registry) DeprecationStatus(name string, typ consts.PluginType) (consts.DeprecationStatus, bool) {
	if !r.Contains(name, typ) {
		return consts.Unknown, false
	}
	return consts.Supported, true
}

func (r registry) IsBuiltinEntPlugin(string, consts.PluginType) bool { return false }
