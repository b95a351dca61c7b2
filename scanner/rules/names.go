package rules

import "strings"

// NameClass is what a configuration key's name says about its value.
type NameClass int

const (
	// NameOther says nothing either way (e.g. "replicas", "config.json").
	NameOther NameClass = iota
	// NameSecret is a name whose value is a credential: password, token, apiKey,
	// clientSecret, DSN, private key...
	NameSecret
	// NameWeakSecret is a name that holds either a credential or the name of
	// the object that holds one ("secret", "credentials"): a literal counts only
	// when it does not look like an object name.
	NameWeakSecret
	// NameNotSecret is a name that is public even inside a Secret: username,
	// host, port, ca.crt, clientId...
	NameNotSecret
	// NameMaybeSecret is a name that holds a credential and an identifier
	// alike: "routingKey", "nonceKey", "sortKey". Only a value that looks
	// random counts (see Random).
	NameMaybeSecret
)

// Words whose presence makes a name a credential. Matched against each word
// of the split name, and as a substring of run-together lowercase words
// ("ROOTPASSWORD", "authtoken").
var secretSubwords = []string{"password", "passwd", "passphrase", "passcode", "token", "secret", "apikey", "privatekey", "secretkey", "accesskey", "credential"}

// Words that contain a credential word and mean something else.
var notSecretWords = set("bypass", "compass", "encompass", "overpass", "underpass", "surpass", "trespass", "multipass", "firstpass", "onepass", "twopass", "singlepass",
	"tokenizer", "tokenizers", "tokenize", "tokenized", "tokenization", "detokenize", "secretary", "secretion")

// Whole words that make a name a credential.
var secretWords = set("pwd", "pw", "pass", "dsn", "creds", "credentials", "credential", "jwt", "pat", "_auth", "auth", "apikey", "bearer", "connectionstring", "connstr", "sas")

// Word pairs that make a name a credential ("api key", "client secret").
var secretPairs = set(
	"api key", "access key", "secret key", "private key", "encryption key", "signing key",
	"master key", "auth key", "shared key", "account key", "session key", "hmac key",
	"deploy key", "license key", "app key", "service key", "admin key", "storage key",
	"connection string", "secret id", "client key", "sign key", "cookie key", "root key",
	"jwt key", "webhook key", "crypt key", "cipher key", "aes key", "token key", "application key",
	"integration key", "server key", "erlang cookie")

// Words that make "<word> secret" a credential rather than an object name.
var credentialSecretPrefix = set("client", "webhook", "cookie", "jwt", "shared", "app", "application", "api", "session",
	"signing", "consumer", "oauth", "oauth2", "hmac", "encryption", "master", "root", "admin", "token",
	"bootstrap", "access", "secret", "private", "github", "gitlab", "slack", "stripe", "csrf", "state", "hash", "key")

// Trailing words that turn a credential name into metadata about the
// credential: where it is, how long it is, what it is called.
var metadataWords = set(
	"name", "names", "ref", "refs", "reference", "file", "files", "filename", "filepath", "path", "paths",
	"dir", "directory", "length", "len", "min", "max", "minlength", "maxlength", "policy", "policies",
	"enabled", "enable", "disabled", "disable", "required", "optional", "expiry", "expiration", "expires", "expire",
	"ttl", "lifetime", "duration", "timeout", "interval", "period", "days", "hours", "seconds", "minutes",
	"type", "types", "mode", "format", "env", "envs", "field", "fields", "selector", "label", "labels",
	"annotation", "annotations", "mount", "mounts", "mountpath", "volume", "volumes", "provider", "providers",
	"source", "sources", "template", "templates", "url", "uri", "urls", "endpoint", "endpoints", "header",
	"headers", "prefix", "suffix", "count", "rotation", "algorithm", "alg", "size", "bits", "encoding",
	"id", "ids", "keys", "key", "namespace", "store", "stores", "backend", "method", "methods", "version",
	"location", "regex", "pattern", "command", "cmd", "script", "generator", "schema", "description",
	"hint", "help", "message", "strategy", "manager", "resource", "resources", "kind", "config",
	"configuration", "configs", "settings", "options", "opts", "audience", "issuer", "scope", "scopes",
	"lookup", "index", "class", "secrets", "tokens", "passwords", "list", "map", "data", "spec", "status",
	"role", "roles", "user", "username", "users", "sync", "create", "created", "generate", "generated",
	"reset", "change", "update", "rotate", "retention", "limit", "limits", "threshold", "strength",
	"complexity", "hash", "hashed", "hashes", "salt", "encrypted", "encrypt", "encryption", "hashing", "check", "validation",
	"engine", "engines", "mtime", "ctime", "timestamp", "modified", "updated", "age",
	"verify", "webhook", "store", "vault", "mapping", "owner", "group", "permissions", "perm", "perms",
	"login", "auth", "authentication", "handler", "plugin", "input", "output", "param", "parameter",
	"parameters", "var", "variable", "variables", "property", "properties", "attribute", "item", "items",
	"entry", "entries", "value", "values", "placeholder", "example", "sample", "default", "defaults",
	"ip", "ips", "cidr", "cidrs", "host", "hosts", "port", "ports", "address", "addresses",
	"dialog", "prompt", "form", "field", "input", "confirmation", "confirm", "storage", "class",
	"secretname", "secretref", "volumename", "provided", "exists", "present", "set", "source", "sha",
)

// Words anywhere in the name that mean the value is not a credential.
var disqualifyingWords = set(
	"existing", "checksum", "digest", "sha", "sha1", "sha256", "sha512", "md5", "hash", "hashed",
	"fingerprint", "public", "pub", "publickey", "cert", "certs", "certificate", "certificates", "crt", "csr",
	"ref", "selector", "secretref", "secretkeyref", "secretname", "kind", "description", "desc", "use", "uses",
	"using", "enable", "enabled", "disable", "disabled", "generate", "create", "show", "mask", "masked",
	"allow", "require", "skip", "insecure", "from", "to", "annotation", "annotations", "label", "labels",
	"rotate", "rotation", "auto", "random", "manage", "managed", "managing", "external", "vault",
	"placeholder", "policy", "backend", "mount", "mountpath", "tpl", "template", "sealed", "encrypted",
	"reference", "references",
)

// Words that say the credential after them is written in the clear.
var plaintextWords = set("insecure", "plain", "plaintext", "clear", "cleartext", "unencrypted", "raw")

// Words that make a name public even inside a Secret: Stripe's publishable
// key, a public key.
var publicWords = set("public", "publishable", "pub")

// Names that are public even inside a Secret. Compared against the whole
// lowercased name with separators removed.
var notSecretNames = set(
	"username", "user", "usr", "login", "host", "hostname", "hosts", "port", "database", "db", "dbname",
	"databasename", "schema", "email", "mail", "url", "uri", "endpoint", "address", "addr", "server",
	"region", "namespace", "project", "projectid", "tenant", "tenantid", "account", "accountid", "accountname",
	"bucket", "cacrt", "tlscrt", "cacert", "cacertificate", "clientid", "appid", "applicationid", "id",
	"issuer", "audience", "scope", "domain", "realm", "org", "organization", "organisation", "role", "path", "name",
	"kind", "type", "version", "protocol", "mechanism", "sslmode", "driver", "cluster", "clustername",
	"subscriptionid", "location", "zone", "tlscert", "cert", "certificate", "crt", "pem", "pub", "publickey",
	"knownhosts", "sshknownhosts", "accesskeyid", "awsaccesskeyid", "clientemail", "tokenuri", "authuri",
	"authproviderx509certurl", "clientx509certurl", "universedomain", "privatekeyid", "projectnumber",
	"roleid", "vhost", "virtualhost", "queue", "topic", "sasl", "saslmechanism", "securityprotocol",
	"sshpublickey", "idrsapub", "config", "configuration", "settings", "enabled",
	"initialclustertoken", "etcdinitialclustertoken",
)

// ClassifyName reads a configuration key name (YAML key, env variable name,
// Secret data key, Helm value path segment) and says whether its value is a
// credential.
func ClassifyName(name string) NameClass {
	flat := flatten(name)
	if notSecretNames[flat] || strings.HasSuffix(flat, "crt") || strings.HasSuffix(flat, "pub") {
		return NameNotSecret
	}
	words := SplitName(name)
	if len(words) == 0 {
		return NameOther
	}
	if notSecretLast[words[len(words)-1]] && !anySecretish(words) {
		return NameNotSecret // DB_HOST, db.user, APP_NAME
	}
	for _, w := range words {
		if publicWords[w] {
			return NameNotSecret
		}
	}
	if n := len(words); n >= 2 && words[n-1] == "id" && words[n-2] == "key" {
		return NameNotSecret // the ID of a key (access key ID, KMS key ID), not the key
	}
	if n := len(words); n >= 2 && plaintextWords[words[n-2]] && secretishWord(words[n-1]) {
		return NameSecret // HAProxy's insecure-password, a cleartext_password: the plaintext form
	}
	for _, w := range words {
		if disqualifyingWords[w] {
			return NameOther
		}
	}
	last := words[len(words)-1]
	// "passwordKey", "tokenKey": the name of a key inside some Secret. But
	// "apiKey", "secretKey", "privateKey" are credentials themselves.
	if last == "key" && len(words) >= 2 && secretPairs[words[len(words)-2]+" key"] {
		if words[len(words)-2] == "secret" && len(words) >= 3 && secretishWord(words[len(words)-3]) {
			return NameOther // existingSecretPasswordKey-style (secret after a credential word)
		}
		if words[0] == "secret" && len(words) == 2 {
			// "secretKey" is an S3 or Django credential, or the key of a Secret
			// an ExternalSecret writes to ("secretKey: db-password").
			return NameWeakSecret
		}
		if words[len(words)-2] == "access" && (len(words) < 3 || words[len(words)-3] != "secret") {
			// An access key is the public half of a key pair (AWS shapes are
			// caught by their rule) or a user name (MinIO "accessKey: loki").
			return NameWeakSecret
		}
		return NameSecret
	}
	if last == "id" && len(words) >= 2 && words[len(words)-2] == "secret" {
		return NameSecret // Vault AppRole secret_id
	}
	if last == "key" && len(words) > 1 && !anySecretish(words[:len(words)-1]) {
		// "routingKey", "nonceKey": a credential of its own, or the key of a map
		// or a sort. The value decides.
		return NameMaybeSecret
	}
	if metadataWords[last] && len(words) > 1 {
		return NameOther
	}
	// "tlsSecret", "passwordsSecret": the name of a Secret object; but
	// "clientSecret", "webhookSecret": a credential.
	if n := len(words); last == "secret" && n >= 3 && words[n-2] == "key" && secretPairs[words[n-3]+" key"] {
		return NameWeakSecret // "apiKeySecret": the Secret that holds the API key
	}
	if last == "secret" && len(words) >= 2 && !credentialSecretPrefix[words[len(words)-2]] {
		return NameWeakSecret
	}
	weak := false
	for i, w := range words {
		if i+1 < len(words) && secretPairs[w+" "+words[i+1]] {
			return NameSecret
		}
		switch {
		case w == "secret" || w == "secrets" || w == "credentials" || w == "credential" || w == "creds" || w == "auth" || w == "sas":
			if len(words) == 1 {
				weak = true
				continue
			}
			if w == "auth" {
				continue
			}
			return NameSecret
		case secretWords[w]:
			return NameSecret
		case len(w) > 2 && len(w) <= 8 && strings.HasSuffix(w, "pw"):
			return NameSecret // run-together "bindpw", "rootpw"
		case len(w) > 4 && len(w) <= 14 && strings.HasSuffix(w, "pass") && !notSecretWords[w]:
			return NameSecret // run-together "requirepass", "rootpass", "bindpass"
		case len(w) >= 8 && len(w) <= 14 && strings.HasSuffix(w, "auth") && !notSecretWords[w]:
			weak = true // run-together "masterauth": a credential, or a switch
			continue
		}
		if notSecretWords[w] {
			continue
		}
		for _, s := range secretSubwords {
			if i := strings.Index(w, s); i >= 0 {
				rest := w[i+len(s):]
				if rest == "" || rest == "s" || !metadataWords[strings.TrimPrefix(rest, "s")] && !isMetaSuffix(rest) {
					return NameSecret
				}
			}
		}
	}
	if weak {
		return NameWeakSecret
	}
	return NameOther
}

// Last words that make a name public when nothing in it says secret.
var notSecretLast = set("sid", "user", "username", "usr", "login", "host", "hostname", "port", "name", "database", "db", "dbname",
	"url", "uri", "endpoint", "address", "addr", "server", "region", "namespace", "email", "mail", "id", "schema",
	"level", "mode", "env", "environment", "timeout", "version", "enabled", "flags", "type", "role", "method", "kind",
	"provider", "backend", "path", "mount", "namespace", "cluster", "tenant", "project")

func anySecretish(words []string) bool {
	for _, w := range words {
		if (secretishWord(w) || w == "secret" || w == "key") && w != "auth" {
			return true
		}
	}
	return false
}

func secretishWord(w string) bool {
	for _, s := range secretSubwords {
		if strings.Contains(w, s) {
			return true
		}
	}
	return secretWords[w]
}

// isMetaSuffix reports run-together metadata tails: "secretname", "passwordfile".
func isMetaSuffix(rest string) bool {
	for m := range metadataWords {
		if len(m) >= 3 && strings.HasPrefix(rest, m) {
			return true
		}
	}
	return false
}

// SplitName splits a key name into lowercase words at separators, case
// changes and acronym ends: "existingSecretPasswordKey" → existing secret
// password key; "AWS_SECRET_ACCESS_KEY" → aws secret access key;
// "APIKey" → api key.
func SplitName(name string) []string {
	var words []string
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(name[start:end]))
		}
		start = -1
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isUpper(c):
			if start >= 0 {
				prev := name[i-1]
				nextLower := i+1 < len(name) && isLowerByte(name[i+1])
				if isLowerByte(prev) || isDigit(prev) || (isUpper(prev) && nextLower) {
					flush(i)
				}
			}
			if start < 0 {
				start = i
			}
		case isLowerByte(c) || isDigit(c):
			if start < 0 {
				start = i
			}
		case c == '_' && i == 0:
			start = i // keep npm's "_auth", "_authToken" distinguishable
		default:
			flush(i)
		}
	}
	flush(len(name))
	return words
}

func flatten(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := lower(name[i])
		if isLowerByte(c) || isDigit(c) {
			b = append(b, c)
		}
	}
	return string(b)
}

func isUpper(c byte) bool     { return 'A' <= c && c <= 'Z' }
func isLowerByte(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool     { return '0' <= c && c <= '9' }

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
