package config

import "os"

// Env looks up an environment variable. It is a parameter, not os.LookupEnv
// directly, so configuration can be read from a test's map or an Argo CD
// plugin environment.
type Env func(name string) (string, bool)

// OSEnv reads the process environment.
func OSEnv(name string) (string, bool) { return os.LookupEnv(name) }

// MapEnv reads a map, for tests and callers that build the environment.
func MapEnv(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// ArgoCDEnvPrefix is the prefix Argo CD (2.4 and later) puts on the
// environment it passes to config management plugins from an Application's
// plugin.env.
const ArgoCDEnvPrefix = "ARGOCD_ENV_"

// WithArgoCDPrefix looks every name up first with the ARGOCD_ENV_ prefix,
// then without, as argocd-vault-plugin does: the value set on the Argo CD
// Application overrides the one set on the plugin sidecar.
func WithArgoCDPrefix(env Env) Env {
	return func(name string) (string, bool) {
		if v, ok := env(ArgoCDEnvPrefix + name); ok {
			return v, true
		}
		return env(name)
	}
}

// Sensitive is a configuration value that must never be printed: a token,
// a secret ID. Its String and GoString methods redact it, so it stays
// hidden in %v and %#v output of the structs that hold it.
type Sensitive string

func (s Sensitive) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// GoString redacts like String.
func (s Sensitive) GoString() string { return `"` + s.String() + `"` }
