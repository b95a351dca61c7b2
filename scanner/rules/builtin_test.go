package rules

import (
	"strings"
	"testing"
)

func matches(s string) []string {
	var ids []string
	Builtin().Scan([]byte(s), func(m Match) bool {
		ids = append(ids, m.Rule.ID+"="+s[m.Start:m.End])
		return true
	})
	return ids
}

func TestBuiltinRules(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIICXAIBAAKBgQCqGKukO1De7zhZj6+H0qtjTkVxwTCpvKe4eCZ0FPqri0cb2JZfXJ/DgYSF6vUp\n-----END RSA PRIVATE KEY-----"
	for _, tc := range []struct {
		name, text, want string // want: "rule=secret"; "" for no match
	}{
		{"aws", "key: AKIAZ2LBNMQ7RFXKTW3Y", "aws-access-key-id=AKIAZ2LBNMQ7RFXKTW3Y"},
		{"aws doc example", "AKIAIOSFODNN7EXAMPLE", ""},
		{"aws secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE", "aws-secret-access-key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"},
		{"github", "token ghp_0123456789abcdefghijABCDEFGHIJ012345", "github-token=ghp_0123456789abcdefghijABCDEFGHIJ012345"},
		{"github short", "ghp_0123", ""},
		{"gitlab", "glpat-Xq7w2Lk9Pz0mN4bV8cD1", "gitlab-token=glpat-Xq7w2Lk9Pz0mN4bV8cD1"},
		{"slack", "xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx", "slack-token=xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx"},
		{"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key=sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"stripe publishable", "pk_live_4eC39HqLyjWDarjtT1zdp7dc", ""},
		{"sendgrid", "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", "sendgrid-api-key=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"},
		{"google", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "google-api-key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"},
		{"npm", "//registry.npmjs.org/:_authToken=npm_abcdefghijABCDEFGHIJ0123456789abcdef", "npm-token=npm_abcdefghijABCDEFGHIJ0123456789abcdef"},
		{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
		{"private key", "key: |\n" + pem, "private-key=" + pem},
		{"private key in JSON", `"private_key": "` + strings.ReplaceAll(pem, "\n", `\n`) + `"`, "private-key=" + strings.ReplaceAll(pem, "\n", `\n`)},
		{"private key prose", "## key should start with -----BEGIN RSA PRIVATE KEY----- or a certificate header", ""},
		{"private key elided", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----", ""},
		{"public cert", "-----BEGIN CERTIFICATE-----\nMIICXAIBAAKBgQCqGKukO1De7zhZj6+H0qtjTkVxwTCpvKe4eCZ0FPqri0cb2JZfXJ/DgYSF6vUp\n-----END CERTIFICATE-----", ""},
		{"url password", "postgres://app:Xq7-2kd9s0@db:5432/app", "url-password=Xq7-2kd9s0"},
		{"url placeholder", "postgres://user:password@localhost/db https://u:${PASS}@h mysql://u:<path:a#b>@h", ""},
		{"url env name", "https://USERNAME:PERSONAL_ACCESS_TOKEN@github.com/x", ""},
		{"connection string", "Server=db;Database=app;User Id=sa;Password=Sq1-8s7d6f;", "connection-string-password=Sq1-8s7d6f"},
		{"vault token", "VAULT_TOKEN=hvs.CAESIJ8d7f6g5h4j3k2l1qwertyuiopasdfghjklzxcvbnm", "vault-token=hvs.CAESIJ8d7f6g5h4j3k2l1qwertyuiopasdfghjklzxcvbnm"},
		{"age key", "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33", "age-secret-key=AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33"},
		// Made-up bodies behind a real prefix are placeholders.
		{"filler stripe", "apiKey: sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", ""},
		{"filler github", "GITHUB_TOKEN=ghp_000000000000000000000000000000000000", ""},
		{"filler age", "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", ""},
		{"discord webhook", "url: https://discord.com/api/webhooks/1234567890123456789/Xq7w2Lk9Pz0mN4bV8cD1-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3k", "discord-webhook=https://discord.com/api/webhooks/1234567890123456789/Xq7w2Lk9Pz0mN4bV8cD1-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3k"},
		{"stripe webhook secret", "STRIPE_WEBHOOK_SECRET=whsec_Xq7w2Lk9Pz0mN4bV8cD1aB3dE5fG7hJ9", "stripe-webhook-secret=whsec_Xq7w2Lk9Pz0mN4bV8cD1aB3dE5fG7hJ9"},
		{"azure service bus", "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Xq7w2Lk9Pz0mN4bV8cD1aB3dE5fG7hJ9kL1mN3pQ5r=", "azure-shared-access-key=Xq7w2Lk9Pz0mN4bV8cD1aB3dE5fG7hJ9kL1mN3pQ5r="},
		{"jdbc query password", "jdbc:mysql://db:3306/shop?user=shop&password=Xq7-2kd9s0&useSSL=true", "connection-string-password=Xq7-2kd9s0"},
		{"jdbc oracle thin", "jdbc:oracle:thin:billing_ro/Xq7w2Lk9P@//oradb:1521/BILLPRD", "connection-string-password=Xq7w2Lk9P"},
		{"jdbc without password", "jdbc:postgresql://warehouse:5432/dwh?ssl=true&sslmode=verify-full", ""},
		{"base64 private key", "client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlDWEFJQkFBS0JnUUNxR0t1a08xRGU3emhaajYrSDBxdGpUa1Z4d1RDcHZLZTRlQ1owRlBxcmkwY2IySlpmWEovRGdZU0Y2dlVwCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==", "private-key-base64=LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlDWEFJQkFBS0JnUUNxR0t1a08xRGU3emhaajYrSDBxdGpUa1Z4d1RDcHZLZTRlQ1owRlBxcmkwY2IySlpmWEovRGdZU0Y2dlVwCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg=="},
		{"base64 certificate", "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUNYQUlCQUFLQmdRQ3FHS3VrTzFEZTd6aFpqNitIMHF0alRrVnh3VENwdktlNGVDWjBGUHFyaTBjYjJKWmZYSi9EZ1lTRjZ2VXAKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=", ""},
		{"nothing", "image: nginx@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(matches(tc.text), " ")
			if got != tc.want {
				t.Errorf("matches = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAutomatonFindsEveryOccurrence(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "pass", "password", "sword"}
	a := NewAutomaton(words)
	text := "uSHErs PassWord his swordfish hehe"
	var got []string
	a.Scan([]byte(text), func(k, end int) bool {
		got = append(got, a.Keyword(k)+"@"+itoa(end))
		return true
	})
	// Naive reference: every (word, end) pair, in order of end.
	var want []string
	low := strings.ToLower(text)
	for end := 1; end <= len(low); end++ {
		for _, w := range words {
			if end >= len(w) && low[end-len(w):end] == w {
				want = append(want, w+"@"+itoa(end))
			}
		}
	}
	if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(want), ",") {
		t.Errorf("automaton = %v\nnaive     = %v", got, want)
	}
}
