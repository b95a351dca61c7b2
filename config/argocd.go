package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ArgoCDApp is what Argo CD tells a Config Management Plugin about the
// Application it renders, through the environment of the generate command.
type ArgoCDApp struct {
	Name, Namespace string // ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE (the destination namespace)
	Revision        string // ARGOCD_APP_REVISION
	SourcePath      string // ARGOCD_APP_SOURCE_PATH
	SourceRepoURL   string // ARGOCD_APP_SOURCE_REPO_URL
	KubeVersion     string // KUBE_VERSION
	APIVersions     []string
	// Parameters are the plugin parameters set on the Application
	// (ARGOCD_APP_PARAMETERS).
	Parameters []ArgoCDParameter
	// ExtraArgs are command-line arguments from ARGOCD_ENV_HELM_ARGS (the
	// variable argocd-vault-plugin's Helm plugin passes to `helm template`),
	// split as a shell would.
	ExtraArgs []string
}

// ArgoCDParameter is one plugin parameter: a string, an array or a map.
type ArgoCDParameter struct {
	Name   string            `json:"name"`
	String *string           `json:"string,omitempty"`
	Array  []string          `json:"array,omitempty"`
	Map    map[string]string `json:"map,omitempty"`
}

// ArgoCDAppFromEnv reads the Argo CD plugin environment; outside Argo CD
// every field is empty.
func ArgoCDAppFromEnv(env Env) (*ArgoCDApp, error) {
	get := func(name string) string {
		v, _ := env(name)
		return strings.TrimSpace(v)
	}
	a := &ArgoCDApp{
		Name: get("ARGOCD_APP_NAME"), Namespace: get("ARGOCD_APP_NAMESPACE"), Revision: get("ARGOCD_APP_REVISION"),
		SourcePath: get("ARGOCD_APP_SOURCE_PATH"), SourceRepoURL: get("ARGOCD_APP_SOURCE_REPO_URL"),
		KubeVersion: get("KUBE_VERSION"),
	}
	for _, v := range strings.Split(get("KUBE_API_VERSIONS"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			a.APIVersions = append(a.APIVersions, v)
		}
	}
	var errs []error
	if p := get("ARGOCD_APP_PARAMETERS"); p != "" {
		if err := json.Unmarshal([]byte(p), &a.Parameters); err != nil {
			errs = append(errs, fmt.Errorf("ARGOCD_APP_PARAMETERS is not the JSON list of parameters Argo CD passes: %w", err))
		}
	}
	if s, ok := env(ArgoCDEnvPrefix + "HELM_ARGS"); ok {
		args, err := SplitArgs(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%sHELM_ARGS: %w", ArgoCDEnvPrefix, err))
		}
		a.ExtraArgs = args
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Parameter returns the parameter called name, if the Application set it.
func (a *ArgoCDApp) Parameter(name string) (ArgoCDParameter, bool) {
	for _, p := range a.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return ArgoCDParameter{}, false
}

// SplitArgs splits s into words as a POSIX shell does for a simple
// command: blanks separate words, single quotes keep everything, double
// quotes keep everything but backslash escapes of \ and ", a backslash
// outside quotes escapes the next character. No expansion is performed.
func SplitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == '\\':
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
				inArg = true
			}
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
