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
		{"age key", "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "age-secret-key=AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"},
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
