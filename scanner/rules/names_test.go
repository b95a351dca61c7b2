package rules

import (
	"reflect"
	"testing"
)

func TestSplitName(t *testing.T) {
	for in, want := range map[string][]string{
		"existingSecretPasswordKey": {"existing", "secret", "password", "key"},
		"AWS_SECRET_ACCESS_KEY":     {"aws", "secret", "access", "key"},
		"APIKey":                    {"api", "key"},
		"db-password":               {"db", "password"},
		"auth.rootPassword":         {"auth", "root", "password"},
		"_authToken":                {"_auth", "token"},
		"tls.key":                   {"tls", "key"},
		"sha256sum":                 {"sha256sum"},
	} {
		if got := SplitName(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassifyName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want NameClass
	}{
		// Credentials.
		{"password", NameSecret}, {"DB_PASSWORD", NameSecret}, {"rootPassword", NameSecret},
		{"MYSQLROOTPASSWORD", NameSecret}, {"apiKey", NameSecret}, {"x-api-key", NameSecret},
		{"clientSecret", NameSecret}, {"webhookSecret", NameSecret}, {"token", NameSecret},
		{"GITHUB_TOKEN", NameSecret}, {"privateKey", NameSecret}, {"aws_secret_access_key", NameSecret},
		{"SENTRY_DSN", NameSecret}, {"credentials", NameWeakSecret}, {"secret_id", NameSecret},
		{"connectionString", NameSecret}, {"_authToken", NameSecret}, {"passphrase", NameSecret},
		// Run-together directives of host configs, and plaintext variants.
		{"requirepass", NameSecret}, {"rootpass", NameSecret}, {"masterauth", NameWeakSecret},
		{"insecure-password", NameSecret}, {"cleartext_password", NameSecret},
		{"bypass", NameOther}, {"compass", NameOther}, {"insecureSkipVerify", NameOther},
		// Names of credentials, not credentials.
		{"existingSecret", NameOther}, {"existingSecretPasswordKey", NameOther}, {"passwordKey", NameOther},
		{"secretName", NameOther}, {"secretKeyRef", NameOther}, {"passwordFile", NameOther},
		{"tokenTTL", NameOther}, {"passwordLength", NameOther}, {"checksum/secret", NameOther},
		{"usePasswordFiles", NameOther}, {"tlsSecret", NameWeakSecret}, {"secret", NameWeakSecret},
		{"secretKey", NameWeakSecret}, {"tokenUrl", NameOther}, {"publicKey", NameNotSecret},
		{"nginx.ingress.kubernetes.io/auth-secret", NameWeakSecret}, {"masterKeyIps", NameOther},
		// Public even inside a Secret.
		{"username", NameNotSecret}, {"DB_HOST", NameNotSecret}, {"db.user", NameNotSecret},
		{"ca.crt", NameNotSecret}, {"tls.crt", NameNotSecret}, {"APP_NAME", NameNotSecret},
		{"replicas", NameOther}, {"config.json", NameOther},
		// Public halves and identifiers of credentials.
		{"STRIPE_PUBLISHABLE_KEY", NameNotSecret}, {"apns-key-id", NameNotSecret}, {"private_key_id", NameNotSecret},
		{"twilio-account-sid", NameNotSecret}, {"accessKey", NameWeakSecret}, {"s3.access.key", NameWeakSecret},
		{"AWS_SECRET_ACCESS_KEY", NameSecret}, {"apiKeySecret", NameWeakSecret},
		// Keys of something: the value decides.
		{"routing_key", NameMaybeSecret}, {"replicaSetKey", NameMaybeSecret}, {"topologyKey", NameMaybeSecret},
		{"DD-APPLICATION-KEY", NameSecret}, {"fcm-server-key", NameSecret}, {"erlangCookie", NameSecret},
		{"LDAP_BINDPW", NameSecret}, {"DB_PW", NameSecret},
		// Configuration that mentions a credential.
		{"tokenizer", NameOther}, {"password_encryption", NameOther}, {"secretEngine", NameOther},
		{"adminPasswordMtime", NameOther},
	} {
		if got := ClassifyName(tc.name); got != tc.want {
			t.Errorf("ClassifyName(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}
