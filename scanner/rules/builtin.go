package rules

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
)

const (
	fixToken   = "revoke or rotate it at the provider, store the new one in Vault and reference it, e.g. <path:secret/data/APP#KEY>"
	fixKey     = "remove the private key, rotate it, and keep it in Vault (<path:secret/data/APP#tls.key>) or seal it: latchkey seal"
	fixCommand = "pass the password through the client's environment or a file (MYSQL_PWD, an option file, SSHPASS, REDISCLI_AUTH, CODECOV_TOKEN) filled from a Secret or a CI secret"
	fixURL     = "take the password out of the URL: reference it, e.g. <path:secret/data/APP#password>, or build the URL from a secretKeyRef"
)

func token(id, desc, re string, keywords ...string) *Rule {
	return &Rule{ID: id, Description: desc, Fix: fixToken, Keywords: keywords, Regex: regexp.MustCompile(re), SecretGroup: 1, Check: notFiller}
}

// builtin is the catalogue of shape-recognisable credentials. Each regex
// captures the secret in group 1 and is anchored on a distinctive prefix, so
// the keyword prefilter rejects almost every line before any regex runs.
func builtin() []*Rule {
	rs := []*Rule{
		withCheck(token("aws-access-key-id", "AWS access key ID", `\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b`, "akia", "asia", "abia", "acca", "a3t"), notExample),
		token("aws-secret-access-key", "AWS secret access key", `(?i)(?:aws_?secret_?access_?key|aws_?secret_?key|secretaccesskey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`, "aws_secret", "awssecret", "secretaccesskey", "secret_access_key"),
		token("github-token", "GitHub token", `\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b`, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
		token("gitlab-runner-registration-token", "GitLab runner registration token", `\b(GR1348941[A-Za-z0-9_\-]{20})\b`, "gr1348941"),
		token("gitlab-token", "GitLab token", `\b((?:glpat|gldt|glrt|glcbt|glptt|gloas|glft|glimt|glagent|glsoat)-[A-Za-z0-9_\-]{20,})\b`, "glpat-", "gldt-", "glrt-", "glcbt-", "glptt-", "gloas-", "glft-", "glimt-", "glagent-", "glsoat-"),
		token("slack-token", "Slack token", `\b(xox[abposr]-[0-9A-Za-z-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)\b`, "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xapp-"),
		token("slack-webhook", "Slack incoming webhook URL", `(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,})`, "hooks.slack.com"),
		token("discord-webhook", "Discord webhook URL", `(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_\-]{60,70})`, "discord"),
		token("teams-webhook", "Microsoft Teams incoming webhook URL", `(https://[a-z0-9\-]+\.webhook\.office\.com/webhookb2/[a-f0-9\-]{36}@[a-f0-9\-]{36}/IncomingWebhook/[a-f0-9]{32}/[a-f0-9\-]{36}(?:/[A-Za-z0-9_\-]{20,})?)`, "webhook.office.com"),
		token("stripe-key", "Stripe secret key", `\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,})\b`, "sk_live_", "sk_test_", "rk_live_", "rk_test_"),
		token("stripe-webhook-secret", "Stripe webhook signing secret", `\b(whsec_[0-9A-Za-z+/]{32,})`, "whsec_"),
		token("sendgrid-api-key", "SendGrid API key", `\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})\b`, "sg."),
		token("google-api-key", "Google API key", `\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)`, "aiza"),
		token("google-oauth-client-secret", "Google OAuth client secret", `\b(GOCSPX-[0-9A-Za-z_\-]{28})\b`, "gocspx-"),
		token("google-oauth-token", "Google OAuth access token", `\b(ya29\.[0-9A-Za-z_\-]{30,})`, "ya29."),
		token("azure-storage-key", "Azure storage account key", `(?i)AccountKey=([A-Za-z0-9+/]{86}==)`, "accountkey="),
		token("azure-shared-access-key", "Azure Service Bus / Event Hubs / IoT shared access key", `(?i)SharedAccessKey=([A-Za-z0-9+/]{42,43}=)`, "sharedaccesskey="),
		token("azure-sas-token", "Azure shared access signature", `[?&]sig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})`, "sig="),
		token("azure-client-secret", "Azure AD client secret", `(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)`, "q~"),
		token("npm-token", "npm access token", `\b(npm_[A-Za-z0-9]{36})\b`, "npm_"),
		token("pypi-token", "PyPI upload token", `\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})`, "pypi-ageichlwas5vcmc"),
		token("vault-token", "HashiCorp Vault token", `\b(hv[sb]\.[A-Za-z0-9_\-]{24,})\b`, "hvs.", "hvb."),
		token("terraform-cloud-token", "Terraform Cloud API token", `\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70})\b`, "atlasv1"),
		token("digitalocean-token", "DigitalOcean token", `\b((?:dop|doo|dor)_v1_[a-f0-9]{64})\b`, "dop_v1_", "doo_v1_", "dor_v1_"),
		token("openai-api-key", "OpenAI API key", `\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})\b`, "t3blbkfj"),
		token("anthropic-api-key", "Anthropic API key", `\b(sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{80,})`, "sk-ant-"),
		token("dockerhub-token", "Docker Hub personal access token", `\b(dckr_pat_[A-Za-z0-9_\-]{27,})`, "dckr_pat_"),
		token("grafana-token", "Grafana token", `\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})`, "glsa_", "glc_"),
		token("shopify-token", "Shopify access token", `\b(shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})\b`, "shpat_", "shpss_", "shpca_", "shppa_"),
		token("telegram-bot-token", "Telegram bot token", `\b(\d{8,10}:AA[0-9A-Za-z_\-]{33})\b`, ":aa"),
		token("age-secret-key", "age secret key", `\b(AGE-SECRET-KEY-1[0-9A-Z]{58})\b`, "age-secret-key-1"),
		token("databricks-token", "Databricks token", `\b(dapi[a-f0-9]{32}(?:-\d)?)\b`, "dapi"),
		token("huggingface-token", "Hugging Face token", `\b(hf_[A-Za-z]{34})\b`, "hf_"),
		token("linear-api-key", "Linear API key", `\b(lin_api_[A-Za-z0-9]{40})\b`, "lin_api_"),
		token("new-relic-key", "New Relic key", `\b(NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9\-]{32})\b`, "nrak-", "nrii-"),
		token("sentry-token", "Sentry auth token", `\b(sntry[su]_[A-Za-z0-9+/=_\-]{40,})`, "sntrys_", "sntryu_"),
		token("mailgun-api-key", "Mailgun API key", `\b(key-[0-9a-f]{32})\b`, "key-"),
		token("mailchimp-api-key", "Mailchimp API key", `\b([0-9a-f]{32}-us\d{1,2})\b`, "-us"),
		token("atlassian-api-token", "Atlassian API token", `\b(ATATT3[A-Za-z0-9_\-=]{180,})`, "atatt3"),
		token("postman-api-key", "Postman API key", `\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b`, "pmak-"),
		token("doppler-token", "Doppler token", `\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})\b`, "dp.pt.", "dp.st.", "dp.sa.", "dp.ct."),
		token("pulumi-token", "Pulumi access token", `\b(pul-[a-f0-9]{40})\b`, "pul-"),
		token("heroku-token", "Heroku API key", `\b(HRKU-[A-Za-z0-9_\-]{60})\b`, "hrku-"),
		token("square-token", "Square access token", `\b(EAAA[A-Za-z0-9_\-]{60})\b|\b(sq0csp-[0-9A-Za-z_\-]{43})\b`, "eaaa", "sq0csp-"),
		{
			ID: "jwt", Description: "JSON Web Token", Fix: fixToken, Keywords: []string{"eyj"},
			Regex:       regexp.MustCompile(`\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})`),
			SecretGroup: 1, Check: jwtHeader,
		},
		{
			ID: "private-key", Description: "private key", Fix: fixKey, Keywords: []string{"private key"},
			Regex:       regexp.MustCompile(`(-----BEGIN[ A-Z0-9]{0,20} PRIVATE KEY(?: BLOCK)?-----)`),
			SecretGroup: 1, Check: privateKeyBody,
		},
		{
			// A PEM private key base64-encoded once more: kubeconfig client-key-data,
			// Helm values "tls.key: LS0tLS1CRUdJTi...", Argo CD cluster keyData.
			ID: "private-key-base64", Description: "base64-encoded private key", Fix: fixKey, Keywords: []string{"ls0tls1crudjti"},
			Regex:       regexp.MustCompile(`(LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,}={0,2})`),
			SecretGroup: 1, Check: encodedPrivateKey,
		},
		{
			ID: "putty-private-key", Description: "PuTTY private key", Fix: fixKey, Keywords: []string{"putty-user-key-file-"},
			Regex:       regexp.MustCompile(`(PuTTY-User-Key-File-\d: .*)`),
			SecretGroup: 1,
		},
		{
			ID: "url-password", Description: "password inside a URL", Fix: fixURL, Keywords: []string{"://"},
			Find: urlPasswords, Literal: true, Check: urlPassword,
		},
		{
			// ADO.NET and libpq keyword strings ("...;Password=x;"), JDBC and
			// URL query parameters ("?user=app&password=x").
			ID: "connection-string-password", Description: "password in a connection string", Fix: fixURL,
			Keywords:    []string{"password=", "pwd="},
			Regex:       regexp.MustCompile(`(?i)(?:^|[;"'\s?&])(?:password|pwd)=([^;"'\s&]{3,})`),
			SecretGroup: 1, Literal: true, Check: connectionString,
		},
		{
			// Oracle thin JDBC URLs carry user/password before the host.
			ID: "connection-string-password", Description: "password in a JDBC URL", Fix: fixURL,
			Keywords:    []string{"jdbc:oracle:"},
			Regex:       regexp.MustCompile(`(?i)jdbc:oracle:[a-z]+:[A-Za-z0-9_$#.\-]+/([^@\s"'/]{3,})@`),
			SecretGroup: 1, Literal: true, Check: connectionString,
		},
		{
			// Database and cache clients that take the password on their
			// command line (mysql -pSECRET, sshpass -p SECRET, redis-cli -a
			// SECRET), and upload tools that take a token (codecov -t):
			// shell lines in CI files, Jobs and scripts.
			ID: "command-line-password", Description: "password or token on a client's command line", Fix: fixCommand,
			Keywords: []string{"mysql", "mariadb", "sshpass", "redis-cli", "codecov"},
			Regex: regexp.MustCompile(`(?:\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n|;&]*?\s-p|\bsshpass\s+-p\s*|\bredis-cli\b[^\n|;&]*?\s-a\s+|\bcodecov\b[^\n|;&]*?\s(?:-t|--token)[ =])` +
				`['"\x60]?([^\s'"\x60$;|&),]{4,})`),
			SecretGroup: 1, Literal: true,
		},
		{
			ID: "authorization-header", Description: "credentials in an HTTP Authorization header", Fix: fixToken,
			Keywords:    []string{"bearer ", "basic "},
			Regex:       regexp.MustCompile(`(?i)\b(?:authorization["']?\s*[:=]\s*["']?)?(?:bearer|basic) ([A-Za-z0-9_\-.~+/]{20,}={0,2})`),
			SecretGroup: 1, MinEntropy: 3.5, Literal: true, Check: notDocWord,
		},
	}
	return rs
}

var (
	builtinOnce sync.Once
	builtinSet  *Set
)

// Builtin returns the compiled built-in rule set.
func Builtin() *Set {
	builtinOnce.Do(func() {
		s, err := NewSet(builtin())
		if err != nil {
			panic(err) // the built-in catalogue is static and tested
		}
		builtinSet = s
	})
	return builtinSet
}

func withCheck(r *Rule, check func([]byte, int, int) (int, bool)) *Rule {
	r.Check = check
	return r
}

// notExample drops the documentation keys providers publish
// (AKIAIOSFODNN7EXAMPLE).
func notExample(data []byte, start, end int) (int, bool) {
	if bytes.Contains(bytes.ToUpper(data[start:end]), []byte("EXAMPLE")) {
		return end, false
	}
	return notFiller(data, start, end)
}

// notFiller drops tokens with the right prefix and a made-up body
// ("sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "ghp_000000000000..."): a generated
// token never repeats one character six times in a row, nor uses only a
// handful of distinct characters.
func notFiller(data []byte, start, end int) (int, bool) {
	tok := data[start:end]
	run, distinct := 1, 0
	var seen [256]bool
	for i, c := range tok {
		if !seen[c] {
			seen[c] = true
			distinct++
		}
		if i > 0 && c == tok[i-1] && isAlnum(c) {
			if run++; run >= 6 {
				return end, false
			}
		} else {
			run = 1
		}
	}
	return end, distinct >= 8 || len(tok) < 12
}

func isAlnum(c byte) bool { return isLowerByte(c) || isUpper(c) || isDigit(c) }

// encodedPrivateKey keeps base64 text that decodes to a PEM private key.
func encodedPrivateKey(data []byte, start, end int) (int, bool) {
	raw := data[start:end]
	n := len(raw) - len(raw)%4
	dec := make([]byte, base64.StdEncoding.DecodedLen(n))
	m, err := base64.StdEncoding.Decode(dec, raw[:n])
	if err != nil && m == 0 {
		return end, false
	}
	dec = dec[:m]
	i := bytes.Index(dec, []byte("PRIVATE KEY-----"))
	if i < 0 || i > 40 {
		return end, false
	}
	_, ok := privateKeyBody(dec, 0, i+len("PRIVATE KEY-----"))
	return end, ok
}

// jwtHeader keeps tokens whose header decodes to JSON with an algorithm.
func jwtHeader(data []byte, start, end int) (int, bool) {
	tok := data[start:end]
	dot := bytes.IndexByte(tok, '.')
	raw, err := base64.RawURLEncoding.DecodeString(string(tok[:dot]))
	if err != nil {
		return end, false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil || h.Alg == "" || strings.EqualFold(h.Alg, "none") {
		return end, false
	}
	return end, true
}

// privateKeyBody keeps PEM private key headers followed by a real body, on
// the next lines or behind \n escapes (JSON), and extends the match to the
// END line so the whole key is the secret. A body is a run of at least 40
// base64 characters within the first few lines; prose ("## -----BEGIN RSA
// PRIVATE KEY----- or a certificate"), "..." and template placeholders are
// not.
func privateKeyBody(data []byte, start, end int) (int, bool) {
	limit := min(len(data), end+1<<16)
	rest := data[end:limit]
	stop := bytes.Index(rest, []byte("-----END"))
	window := rest
	if len(window) > 600 {
		window = window[:600]
	}
	if stop >= 0 && stop < len(window) {
		window = window[:stop]
	}
	run, best := 0, 0
	for i := 0; i < len(window); i++ {
		c := window[i]
		switch {
		case isLowerByte(c) || isUpper(c) || isDigit(c) || c == '+' || c == '/' || c == '=':
			run++
			best = max(best, run)
			continue
		case c == '\\' && i+1 < len(window) && window[i+1] == 'n':
			i++
		case c == '.' && i+2 < len(window) && window[i+1] == '.' && window[i+2] == '.':
			return end, false // an elided example
		}
		run = 0
	}
	if best < 40 {
		return end, false
	}
	if stop >= 0 {
		if e := bytes.Index(rest[stop+8:], []byte("-----")); e >= 0 {
			return end + stop + 8 + e + 5, true
		}
	}
	return end, true
}

// urlPasswords finds scheme://user:password@host and returns the password
// spans. It is the hottest rule (every URL line), so it is a scanner rather
// than a regular expression.
func urlPasswords(line []byte) [][2]int {
	var out [][2]int
	for off := 0; len(out) < maxMatchesPerLine; {
		i := bytes.Index(line[off:], []byte("://"))
		if i < 0 {
			return out
		}
		i += off
		off = i + 3
		// A scheme of 2 to 31 characters, starting with a letter.
		j := i
		for j > 0 && i-j < 31 && (isLowerByte(line[j-1]) || isUpper(line[j-1]) || isDigit(line[j-1]) || line[j-1] == '+' || line[j-1] == '.' || line[j-1] == '-') {
			j--
		}
		if i-j < 2 || !(isLowerByte(line[j]) || isUpper(line[j])) {
			continue
		}
		// user: up to ':' (0..128 characters: redis://:password@host)
		k := off
		for k < len(line) && k-off <= 128 && !userStop(line[k]) && line[k] != ':' {
			k++
		}
		if k >= len(line) || line[k] != ':' {
			continue
		}
		// password: up to '@' (1..128 characters), then a host.
		ps := k + 1
		e := ps
		for e < len(line) && e-ps <= 128 && !passwordStop(line[e]) {
			e++
		}
		if e == ps || e >= len(line) || line[e] != '@' || e+1 >= len(line) {
			continue
		}
		if h := line[e+1]; !(isLowerByte(h) || isUpper(h) || isDigit(h) || h == '-' || h == '_' || h == '.' || h == '[') {
			continue
		}
		out = append(out, [2]int{ps, e})
	}
	return out
}

func userStop(c byte) bool {
	return c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c == '"' || c == '\'' || c == '<' || c == '>' ||
		c == '{' || c == '}' || c == '[' || c == ']' || c == '`'
}

func passwordStop(c byte) bool {
	return c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`'
}

// urlPassword drops credentials that are documentation: user:password@,
// user:pass@, the password repeating the user.
func urlPassword(data []byte, start, end int) (int, bool) {
	pw := string(data[start:end])
	switch strings.ToLower(pw) {
	case "password", "pass", "passwd", "pwd", "secret", "pw", "xxx", "****", "changeme", "p", "token", "mypassword", "yourpassword", "user", "username", "example":
		return end, false
	}
	if strings.Trim(pw, "*xX.") == "" || strings.ContainsAny(pw, "()") || envName.MatchString(pw) {
		return end, false
	}
	return end, true
}

func connectionString(data []byte, start, end int) (int, bool) {
	pw := string(data[start:end])
	if strings.HasPrefix(pw, "{") || strings.HasPrefix(pw, "[") || strings.HasPrefix(pw, "%") || strings.EqualFold(pw, "password") {
		return end, false
	}
	return urlPassword(data, start, end)
}

func notDocWord(data []byte, start, end int) (int, bool) {
	s := string(data[start:end])
	if strings.ContainsAny(s, "0123456789") || strings.ContainsAny(s, "_-+/=") {
		return end, true
	}
	return end, false // a long word, not a token
}
