package scanner

import (
	"testing"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// Values of each shape the judge tells apart.
const (
	randomValue = "q8Zr2LmT7vXe4NbK1pWs"                     // generated: a key, a token, a password
	wordValue   = "Sh0p-8s7d6f"                              // a typed password
	objectValue = "app-tls"                                  // the name of a Secret
	hexValue    = "3f786850e387550fdab836ed7e6dc881de23001b" // a checksum, a commit
	plainValue  = "db.prod.acme.io"                          // a host name: configuration
	tokenValue  = "ghp_0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX" // a provider token, whatever its name
	refValue    = "<path:secret/data/app#password>"          // a reference
)

// TestJudge is the scanner's policy for named literals, place by place. Each
// place is where one or more readers ask (in brackets); a row says what a
// value of that shape under a name of that class is there.
func TestJudge(t *testing.T) {
	tests := []struct {
		place place
		name  string
		value string
		want  verdict
	}{
		// References, templates and placeholders are never plaintext.
		{atKey, "password", refValue, notSecret},
		{inSecretData, "password", "{{ .Values.password }}", notSecret},
		{atEnv, "DB_PASSWORD", "${DB_PASSWORD}", notSecret},
		{inSecretData, "greeting", "changeme-placeholder", notSecret},

		// atKey [YAML keys of any document, ConfigMap data, assignments in
		// text, configMapGenerator literals]: only the name makes a credential.
		{atKey, "password", wordValue, byName},
		{atKey, "password", objectValue, byName},
		{atKey, "dbSecret", wordValue, byName},
		{atKey, "dbSecret", objectValue, notSecret},
		{atKey, "dbSecret", hexValue, notSecret},
		{atKey, "routingKey", randomValue, byName},
		{atKey, "routingKey", wordValue, notSecret},
		{atKey, "greeting", randomValue, notSecret},
		{atKey, "username", tokenValue, notSecret}, // the token rule reports it, not the judge

		// atEnv [env entries in manifests and in text, Helm parameters,
		// headers, flag arguments]: a weak name with a checksum-shaped value
		// still counts.
		{atEnv, "DB_PASSWORD", wordValue, byName},
		{atEnv, "DB_SECRET", objectValue, notSecret},
		{atEnv, "DB_SECRET", hexValue, byName},
		{atEnv, "ROUTING_KEY", randomValue, byName},
		{atEnv, "ROUTING_KEY", wordValue, notSecret},
		{atEnv, "GREETING", randomValue, notSecret},
		{atEnv, "DB_USER", wordValue, notSecret},

		// inList [scalar items of a list, judged by the list's singular]:
		// lists under credential names often hold Secret names.
		{inList, "apiKey", randomValue, byName},
		{inList, "apiKey", objectValue, notSecret},
		{inList, "apiKey", "0b5c1a7e-2f43-4d8e-9a61-3c7e5f0d2b19", notSecret}, // an ID
		{inList, "apiKey", hexValue, byName},                                  // hex that long is a key too
		{inList, "token", wordValue, byName},
		{inList, "secret", objectValue, notSecret},
		{inList, "routingKey", wordValue, notSecret},
		{inList, "greeting", randomValue, notSecret},

		// underSecrets [keys under secrets:, secretEnv:, credentials:]: a
		// generated value counts whatever its key.
		{underSecrets, "greeting", randomValue, byPlace},
		{underSecrets, "greeting", wordValue, notSecret},
		{underSecrets, "password", wordValue, byName},
		{underSecrets, "dbSecret", hexValue, notSecret},

		// inSecretData [Secret data and stringData, SealedSecret templates,
		// secretGenerator literals, env files and files]: every value counts
		// but configuration beside it and public names.
		{inSecretData, "password", wordValue, byName},
		{inSecretData, "secret", objectValue, byName},
		{inSecretData, "greeting", wordValue, byPlace},
		{inSecretData, "greeting", plainValue, notSecret},
		{inSecretData, "greeting", "verify-full", notSecret},
		{inSecretData, "greeting", hexValue, notSecret},
		{inSecretData, "routingKey", wordValue, byName},
		{inSecretData, "routingKey", plainValue, notSecret},
		{inSecretData, "username", wordValue, notSecret},
		{inSecretData, "username", tokenValue, byPlace},
		{inSecretData, "greeting", tokenValue, byPlace},
	}
	for _, tt := range tests {
		if got := judge(tt.name, tt.value, tt.place); got != tt.want {
			t.Errorf("judge(%q, %q, %s) = %s, want %s", tt.name, tt.value, tt.place, got, tt.want)
		}
	}
}

// The rows above rely on each name being of the class its row assumes.
func TestJudgeNamesAreOfTheirClass(t *testing.T) {
	for name, class := range map[string]rules.NameClass{
		"password": rules.NameSecret, "DB_PASSWORD": rules.NameSecret, "apiKey": rules.NameSecret, "token": rules.NameSecret,
		"dbSecret": rules.NameWeakSecret, "DB_SECRET": rules.NameWeakSecret, "secret": rules.NameWeakSecret,
		"routingKey": rules.NameMaybeSecret, "ROUTING_KEY": rules.NameMaybeSecret,
		"greeting": rules.NameOther, "GREETING": rules.NameOther,
		"username": rules.NameNotSecret, "DB_USER": rules.NameNotSecret,
	} {
		if got := rules.ClassifyName(name); got != class {
			t.Errorf("ClassifyName(%q) = %d, want %d", name, got, class)
		}
	}
}

func (p place) String() string {
	return [...]string{"atKey", "atEnv", "inList", "underSecrets", "inSecretData"}[p]
}

func (v verdict) String() string {
	return [...]string{"notSecret", "byName", "byPlace"}[v]
}
