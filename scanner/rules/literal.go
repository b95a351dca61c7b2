package rules

import (
	"regexp"
	"strings"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// Spans inside a value that are resolved elsewhere, never plaintext: Flux
// post-build substitutions, shell and Kubernetes variable expansion, Helm and
// Go templates, SOPS ciphertext, other vals backends, generic placeholders.
var indirection = regexp.MustCompile(`\$\{[^}]*\}|\$\([^)]*\)|\{\{.*?\}\}|ENC\[[A-Z0-9_]+,[^\]]*\]|ref\+[a-z0-9]+://\S+|<[^<>\n]{1,200}>|` + bankVaults)

// bankVaults is the Bank-Vaults webhook's reference: vault:PATH#KEY[#VERSION].
const bankVaults = `\bvault:[A-Za-z0-9_\-./]+#[A-Za-z0-9_\-.]+(?:#\d+)?`

var bankVaultsRef = regexp.MustCompile(bankVaults)

// Whole values that are a variable or format placeholder: $VAR, %s, {name}.
var variable = regexp.MustCompile(`^(?:\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|(?:env|environ|file|secret|vault|ssm|awssm|gcpsm|azkv):[A-Za-z_/][\w./\-]*|%[sv]|%\([a-z_]+\)s|\{[A-Za-z_][A-Za-z0-9_.]*\}|@[A-Za-z_][A-Za-z0-9_]*@)$`)

// Values that say "put the real secret here".
var placeholder = regexp.MustCompile(`(?i)^(?:[x*#.?_\-=~]+|null|nil|none|n/a|tbd|todo|fixme|redacted|hidden|masked|secret|password|passwd|token|apikey|api[_-]?key|changeme|change[_-]?me|change[_-]?it|replace[_-]?me|to[_-]?be[_-]?replaced|example|sample|dummy|fake|default|empty|undefined|unset|foo|bar|baz|test|value|values?[_-]?here)$|replace|placeholder|your[_\- ]|insert[_\- ]|enter[_\- ]|example\.com|xxxx|\*\*\*|\.\.\.|^my[_-]?(?:secret|password|token|pass|api[_-]?key)$|[^0-9]example|^(?:fill|set)[_-]?(?:me|in)`)

var boolish = set("true", "false", "yes", "no", "on", "off", "y", "n", "~", "null", "nil", "none", "[]", "{}", `""`, "''")

// Literal reports whether v is a literal that could be a credential: not
// empty, not a reference of any kind (the shared reference grammar, Flux
// ${VAR}, Helm {{ }}, SOPS ENC[...]), not a placeholder, a boolean, a short
// number, a file path or a URL without credentials.
func Literal(v string) bool {
	t := strings.TrimSpace(v)
	if t == "" || boolish[strings.ToLower(strings.Trim(t, "\"'.,;:)`"))] || variable.MatchString(t) {
		return false
	}
	// Shell and template expansion, even when the line cut it short:
	// "$(cat /secrets/token)", "${{ secrets.TOKEN }}", "{{ .Values.password".
	if strings.HasPrefix(t, "$") || strings.Contains(t, "$(") || strings.Contains(t, "${") || strings.Contains(t, "{{") {
		return false
	}
	if reference.Contains(t) || reference.IsGeneric(t) || strings.ContainsAny(t, "<${") || strings.Contains(t, "ENC[") || strings.Contains(t, "ref+") ||
		strings.Contains(t, "vault:") && bankVaultsRef.MatchString(t) {
		rest := StripIndirection(t)
		if len(rest) == len(t) {
			return literalShape(t)
		}
		// Something was a reference; what is left around it is glue
		// ("Bearer ", "user:@host") unless it is itself a credential-shaped token.
		return strings.TrimSpace(rest) != "" && Token(rest)
	}
	return literalShape(t)
}

// StripIndirection removes every reference, template, substitution and
// placeholder span from v.
func StripIndirection(v string) string {
	if refs := reference.FindAll(v); len(refs) > 0 {
		var b strings.Builder
		prev := 0
		for _, r := range refs {
			b.WriteString(v[prev:r.Start])
			prev = r.End
		}
		b.WriteString(v[prev:])
		v = b.String()
	}
	return indirection.ReplaceAllString(v, "")
}

// Values that are not plaintext credentials although they sit under a
// credential's name: password hashes (htpasswd, bcrypt, crypt, LDAP),
// function calls in code, file names, and upper-case variable names.
var (
	passwordHash = regexp.MustCompile(`\$(?:2[abxy]?|5|6|argon2i?d?|apr1|pbkdf2[\w-]*|scrypt)\$|^\{(?:S?SHA|SSHA256|SSHA512|CRYPT|MD5|PBKDF2[\w-]*)\}|^SCRAM-SHA-(?:1|256)\$|^md5[0-9a-f]{32}$`)
	funcCall     = regexp.MustCompile(`^[A-Za-z_][\w.]*\(`)
	fileName     = regexp.MustCompile(`(?i)^[\w.\-/]+\.(?:json|ya?ml|pem|key|crt|cer|der|txt|conf|cfg|ini|p12|pfx|jks|keystore|truststore|properties|env|toml|xml|asc|gpg|pub)$`)
	envName      = regexp.MustCompile(`^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$`)
	envWord      = regexp.MustCompile(`PASS|SECRET|TOKEN|KEY|PWD|CRED|AUTH`)
	ipAddress    = regexp.MustCompile(`^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})(?:/\d{1,3})?$`)
)

func literalShape(t string) bool {
	if len(t) > 4096 {
		// Placeholders, paths, hashes and names are short; a long value is
		// content (a key, a certificate, a config file).
		return !strings.HasPrefix(t, "-----BEGIN ") || pemPrivateKey(t)
	}
	if placeholder.MatchString(t) || passwordHash.MatchString(t) || funcCall.MatchString(t) || fileName.MatchString(t) {
		return false
	}
	if alnum(t) < 3 || ipAddress.MatchString(t) || strings.Count(t, " ") >= 3 && !strings.Contains(t, "PRIVATE KEY") {
		return false // punctuation, an address, or prose
	}
	if envName.MatchString(t) && envWord.MatchString(t) {
		return false // DB_PASSWORD: the name of a variable, not its value
	}
	if isNumber(t) && len(t) < 6 {
		return false
	}
	if strings.HasPrefix(t, "/") && strings.Count(t, "/") >= 2 && !strings.ContainsAny(t, " ") && !base64Text(t) {
		return false // a file path such as /var/run/secrets/token
	}
	if i := strings.Index(t, "://"); i > 0 && !strings.Contains(t[i+3:], "@") {
		return false // a URL without userinfo
	}
	if strings.HasPrefix(t, "-----BEGIN ") {
		return pemPrivateKey(t) // not a public certificate or key, nor an elided example
	}
	if strings.HasPrefix(t, "ssh-") || strings.HasPrefix(t, "ecdsa-sha2-") {
		return false // an SSH public key
	}
	return true
}

// pemPrivateKey reports a PEM value that is a private key with a real body.
func pemPrivateKey(t string) bool {
	return strings.Contains(t[:min(len(t), 60)], "PRIVATE KEY") && Token(t)
}

// Token reports whether s contains a credential-shaped token: a provider
// format, a private key, or a URL with a password.
func Token(s string) bool {
	found := false
	Builtin().Scan([]byte(s), func(Match) bool { found = true; return false })
	return found
}

// ObjectName reports whether v looks like the name of a Kubernetes object
// (a DNS-1123 subdomain made of words), which is what "secret: my-app-creds"
// usually means.
func ObjectName(v string) bool {
	if identifier.MatchString(v) {
		return true // a key or variable name: USERNAME, db_password, dbHost
	}
	if len(v) == 0 || len(v) > 253 || !strings.ContainsAny(v, "-.") && len(v) > 12 {
		return false
	}
	letters := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isLowerByte(c):
			letters++
		case isDigit(c), c == '-', c == '.':
		default:
			return false
		}
	}
	if letters*2 <= len(v) || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	// Names are made of words; a long segment mixing letters and digits is
	// random ("wh-9f8e7d6c5b4a"), not a word.
	for _, seg := range strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '.' }) {
		if len(seg) >= 8 && strings.ContainsAny(seg, "0123456789") && strings.ContainsAny(seg, "abcdefghijklmnopqrstuvwxyz") {
			return false
		}
	}
	return true
}

// Hexish reports values that are checksums, digests, UUIDs or commit IDs.
func Hexish(v string) bool {
	t := strings.TrimPrefix(strings.TrimPrefix(v, "sha256:"), "sha512:")
	if uuid.MatchString(t) {
		return true
	}
	if len(t) != 32 && len(t) != 40 && len(t) != 64 && len(t) != 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

var identifier = regexp.MustCompile(`^[A-Za-z][A-Za-z_.\-]{0,62}$`)

var uuid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '+' {
			return false
		}
	}
	return true
}

func alnum(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; isLowerByte(c) || isUpper(c) || isDigit(c) || c >= 0x80 {
			n++
		}
	}
	return n
}

// base64Text reports a value that is base64 of something rather than a path
// that happens to use the same characters: padded to a multiple of four,
// mixing cases and digits, with no path punctuation ("/MJTp4LYH/d/yNwXR4=").
func base64Text(t string) bool {
	if len(t) < 16 || len(t)%4 != 0 || strings.ContainsAny(t, "._-~") {
		return false
	}
	var upper, lower, digit bool
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case isUpper(c):
			upper = true
		case isLowerByte(c):
			lower = true
		case isDigit(c):
			digit = true
		case c == '+' || c == '/' || c == '=':
		default:
			return false
		}
	}
	return upper && lower && digit
}

// Random reports a value that looks generated: a key, a token, a password
// from a generator, rather than a word, a name, a host, a path or a UUID. It
// is the test for names that hold credentials and identifiers alike
// (NameMaybeSecret) and for list items.
func Random(v string) bool {
	t := strings.TrimSpace(v)
	if len(t) < 16 || len(t) > 4096 || strings.ContainsAny(t, " \t\n") || ObjectName(t) || uuid.MatchString(t) ||
		strings.Contains(t, "://") || PlainSetting(t) || (strings.HasPrefix(t, "/") || strings.HasPrefix(t, "./")) && !base64Text(t) {
		return false
	}
	var upper, lower, digit, other bool
	hex := true
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isUpper(c):
			upper = true
		case isLowerByte(c):
			lower = true
		case isDigit(c):
			digit = true
		default:
			other = true
		}
		if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			hex = false
		}
	}
	if hex {
		return len(t) >= 32 && digit && (upper || lower)
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 2 || Entropy(t) < 3.3 {
		return false
	}
	// Generated text mixes letters and digits within a run; names and dates
	// are words and numbers joined by separators ("release-2024-05-14",
	// "app.kubernetes.io/name").
	if base64Text(t) || upper && lower && digit && other && Entropy(t) >= 3.5 {
		return true
	}
	for _, seg := range strings.FieldsFunc(t, func(r rune) bool { return !isAlnumRune(r) }) {
		if len(seg) >= 8 && strings.ContainsAny(seg, "0123456789") && strings.IndexFunc(seg, isLetterRune) >= 0 {
			return true
		}
	}
	return false
}

func isAlnumRune(r rune) bool {
	return r < 0x80 && (isLowerByte(byte(r)) || isUpper(byte(r)) || isDigit(byte(r)))
}
func isLetterRune(r rune) bool { return r < 0x80 && (isLowerByte(byte(r)) || isUpper(byte(r))) }

// Plain configuration values: host names, e-mail addresses, durations,
// sizes, versions and words.
var (
	hostName = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\.?(?::\d{1,5})?$`)
	email    = regexp.MustCompile(`^[A-Za-z0-9._%+\-]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	quantity = regexp.MustCompile(`^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y|Ki|Mi|Gi|Ti|k|K|M|G|T|KB|MB|GB|TB|%)?)+$`)
	version  = regexp.MustCompile(`^v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.\-]+)?$`)
	words    = regexp.MustCompile(`^[A-Za-z][A-Za-z_.\-]{0,62}$`)
)

// PlainSetting reports a value that is configuration whatever its key is
// called: a host name, an e-mail address, a duration or size, a version, one
// or a few words, or a list of those. A Secret's "CLUSTER_DOMAIN: prod.acme.io"
// or "DB_SSLMODE: verify-full" is not a credential; only keys that say
// secret make such a value one.
func PlainSetting(v string) bool {
	t := strings.TrimSpace(v)
	if t == "" {
		return true
	}
	if strings.Contains(t, ",") {
		for _, item := range strings.Split(t, ",") {
			item = strings.TrimSpace(item)
			if item != "" && !PlainSetting(item) && !ObjectName(item) {
				return false
			}
		}
		return true
	}
	if words.MatchString(t) {
		// "verify-full", "EUR" are settings; "test-password" is a password.
		l := strings.ToLower(t)
		for _, w := range secretSubwords {
			if strings.Contains(l, w) {
				return false
			}
		}
		return !strings.Contains(l, "pass") && !strings.Contains(l, "pwd")
	}
	return hostName.MatchString(t) || email.MatchString(t) || quantity.MatchString(t) || version.MatchString(t)
}
