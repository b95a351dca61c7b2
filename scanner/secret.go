package scanner

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// secret checks a v1 Secret: every data value is base64-decoded and judged,
// every stringData value is judged as it is. Base64 is an encoding, so a
// Secret in Git is exactly as secret as its decoded values.
func (f *fileScan) secret(root *yaml.Node, name string) {
	manifest.Entries(manifest.Get(root, "data"), func(k, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			return
		}
		value, ok := decodeBase64(v.Value)
		if !ok {
			// Not base64: Kubernetes would reject it, but a literal is still a leak.
			value = v.Value
		}
		f.secretValue(name, "data", k, v, value, ok)
	})
	manifest.Entries(manifest.Get(root, "stringData"), func(k, v *yaml.Node) {
		if v.Kind == yaml.ScalarNode {
			f.secretValue(name, "stringData", k, v, v.Value, false)
		}
	})
}

// secretValue judges one value of a Secret (or of a SealedSecret template).
func (f *fileScan) secretValue(name, field string, k, v *yaml.Node, value string, decoded bool) {
	key := k.Value
	line, col := f.valuePos(v)
	d := finding{check: checkSecret, line: line, col: col, keyLine: k.Line, secret: value, object: name, key: key}
	if key == ".dockerconfigjson" || key == ".dockercfg" {
		for _, c := range dockerConfigCredentials(value) {
			x := d
			x.check = checkDockerConfig
			x.why = fmt.Sprintf("Secret %q %s.%s holds registry credentials for %s in plaintext", name, field, key, c.registry)
			if c.value != "" {
				x.secret = c.value
				if !decoded {
					if l, col, ok := f.locate(v, c.value); ok {
						x.line, x.col = l, col // the credential inside a JSON block
					}
				}
			}
			f.report(x)
		}
		return
	}
	encoded := ""
	if decoded {
		encoded = " (base64 is an encoding, not encryption)"
	}
	class := rules.ClassifyName(key)
	binary := decoded && !utf8.ValidString(value)
	if class == rules.NameNotSecret && !rules.Token(value) {
		// Public by name (username, host, ca.crt); only a credential by shape
		// counts. A file under such a name (app.env, settings) still has
		// lines that name their own values.
		if strings.Contains(strings.TrimRight(value, "\r\n"), "\n") && !binary {
			f.secretFile(v, value, decoded, class, d)
		}
		return
	}
	switch {
	case binary:
		if trustStore(key) {
			return // certificates to trust, not keys
		}
	case strings.HasPrefix(strings.TrimSpace(value), "-----BEGIN "):
		if !rules.Token(value) {
			return // a certificate, a public key, or an elided example ("<your-key>")
		}
	case strings.Contains(strings.TrimRight(value, "\r\n"), "\n"):
		// A configuration file in a Secret: judge its lines.
		f.secretFile(v, value, decoded, class, d)
		return
	case jsonObject(value):
		// A JSON document on one line (credentials.json): its members name
		// their own values.
		f.secretFile(v, value, decoded, class, d)
		return
	case !rules.Literal(value):
		if strings.ContainsAny(value, "=:") {
			// One line of configuration (a JAAS entry, connection
			// parameters): its assignments are judged, references and all.
			f.secretFile(v, value, decoded, class, d)
		}
		return
	case judge(key, value, inSecretData) == notSecret:
		return
	}
	if binary {
		d.why = fmt.Sprintf("Secret %q %s.%s holds binary key material in plaintext%s", name, field, key, encoded)
	} else {
		d.why = fmt.Sprintf("Secret %q %s.%s is a literal value, not a reference%s", name, field, key, encoded)
	}
	f.report(d)
}

// secretFile judges a multi-line value of a Secret (a config file): its
// secret-named lines are findings; a file with none is reported whole only
// when its key says it is a credential.
func (f *fileScan) secretFile(v *yaml.Node, value string, decoded bool, class rules.NameClass, d finding) {
	before := len(f.out)
	if decoded {
		sub := &fileScan{sc: f.sc, file: f.file, data: []byte(value)}
		sub.scanLines(0, len(sub.data), lineContext{check: checkSecret})
		sub.generic()
		for _, x := range sub.out {
			x.Line, x.Column = d.line, d.col
			f.out = append(f.out, x)
		}
	} else {
		f.embedded(v, lineContext{check: checkSecret})
	}
	if len(f.out) == before && class == rules.NameSecret && rules.Literal(value) {
		d.why = fmt.Sprintf("Secret %q key %s is a literal value, not a reference", d.object, d.key)
		f.report(d)
	}
}

// jsonObject reports a value that is a JSON object.
func jsonObject(v string) bool {
	t := strings.TrimSpace(v)
	return strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && json.Valid([]byte(t))
}

// trustStore reports keys that hold certificates to trust (a Java
// truststore), which are binary but public.
func trustStore(key string) bool {
	for _, w := range rules.SplitName(key) {
		if w == "truststore" || w == "cacerts" || w == "trust" {
			return true
		}
	}
	return false
}

// locate finds s in the text of scalar v as written in the file (a block
// scalar or a quoted string spanning lines) and returns its position.
func (f *fileScan) locate(v *yaml.Node, s string) (int, int, bool) {
	if s == "" {
		return 0, 0, false
	}
	from := f.offset(v.Line, v.Column)
	to := min(len(f.data), from+2*len(v.Value)+16)
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		from, to = f.blockRegion(v.Line)
	}
	if from >= to {
		return 0, 0, false
	}
	i := strings.Index(string(f.data[from:to]), s)
	if i < 0 {
		return 0, 0, false
	}
	line, col := f.pos(from + i)
	return line, col, true
}

// decodeBase64 decodes a Secret data value the way the API server does
// (standard encoding, padding required), tolerating line breaks.
func decodeBase64(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// registryCredential is one plaintext credential of a Docker config: the
// registry it is for, and the credential as written in the JSON (an "auth",
// a password or a token); value is empty when the config does not parse.
type registryCredential struct {
	registry, value string
}

// dockerConfigCredentials lists the literal credentials of a
// .dockerconfigjson/.dockercfg value, registry by registry.
func dockerConfigCredentials(value string) []registryCredential {
	type entry struct {
		Auth          string `json:"auth"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	}
	var cfg struct {
		Auths map[string]entry `json:"auths"`
	}
	if err := json.Unmarshal([]byte(value), &cfg); err != nil || cfg.Auths == nil {
		var legacy map[string]entry // .dockercfg has no "auths" level
		if err2 := json.Unmarshal([]byte(value), &legacy); err2 != nil || len(legacy) == 0 {
			if rules.Literal(value) && err != nil {
				return []registryCredential{{registry: "the registry"}}
			}
			return nil
		}
		cfg.Auths = legacy
	}
	var out []registryCredential
	for _, registry := range slices.Sorted(maps.Keys(cfg.Auths)) {
		e := cfg.Auths[registry]
		if e.Auth != "" {
			if up, ok := decodeBase64(e.Auth); ok {
				if _, pw, found := strings.Cut(up, ":"); found && rules.Literal(pw) {
					out = append(out, registryCredential{registry, e.Auth})
				}
			} else if rules.Literal(e.Auth) {
				out = append(out, registryCredential{registry, e.Auth})
			}
		}
		for _, s := range []string{e.Password, e.IdentityToken, e.RegistryToken} {
			if rules.Literal(s) {
				out = append(out, registryCredential{registry, s})
			}
		}
	}
	return out
}
