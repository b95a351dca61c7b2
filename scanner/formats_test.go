package scanner

import (
	"strconv"
	"strings"
	"testing"
)

// TestOtherFileKinds: the formats of host, ops, infrastructure and
// application files beyond Kubernetes YAML, each with the references and
// look-alikes that must stay quiet beside the secret. Lines with a "want"
// mark are the only findings.
func TestOtherFileKinds(t *testing.T) {
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, content string }{
		{"redis.conf", "port 6379\nrequirepass Rd8fKq2LmXz7Wc4N #want\n# requirepass foobared\nmaxmemory-policy allkeys-lru\n"},
		{"keepalived.conf", "vrrp_instance VI_1 {\n  authentication {\n    auth_type PASS\n    auth_pass Kp7Xq2Lm #want\n  }\n}\n"},
		{"named.conf", "key \"xfer\" {\n  algorithm hmac-sha256;\n  secret \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==\"; #want\n};\n"},
		{"haproxy.cfg", "userlist admins\n  user ops password $6$rounds=5000$salt$Lq4cD8vX2bN7mK1pR9sT3w\n  user stats insecure-password St9Lm2Xq7Wc4 #want\n"},
		{"home/.netrc", "machine h.acme.io login ci password Qw8Er7Ty6Ui5Op4 #want\nmachine g.acme.io login ci password ${NETRC_PASSWORD}\n"},
		{"home/.pgpass", "db.acme.io:5432:orders:app:Pg8fKq2LmXz7 #want\nlocalhost:5432:*:postgres:*\n"},
		{"etc/htpasswd", "admin:$apr1$xyz12345$K9q2ZfHcVd7LmN3pQ8sWt/\nmetrics:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"},
		{"etc/rsyncd.secrets", "backup:Rs8fKq2LmXz7Wc #want\n"},
		{"pgbouncer/userlist.txt", "\"app\" \"SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy\"\n\"report\" \"Pb8fKq2LmXz7Wc\" #want\n"},
		{"mongo/keyfile", "c2VjcmV0a2V5Zm9ybW9uZ29yZXBsaWNhc2V0MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u\n"},
		{"variables.tf", "variable \"db_password\" {\n  type    = string\n  default = \"S3cure-tA3vYr208o\" #want\n}\nvariable \"region\" {\n  default = \"eu-west-1\"\n}\n"},
		{"config.php", "<?php\nreturn [\n  'password' => 'Wp8fKq2LmXz7Wc', #want\n  'mail_password' => env('MAIL_PASSWORD'),\n];\ndefine('AUTH_KEY', 'aK9dL2mQ7xZ4wE1rT6yU3iO8pS5'); #want\ndefine('DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD'));\n"},
		{"pom.xml", "<properties>\n  <sonar.login>${env.SONAR_TOKEN}</sonar.login>\n  <db.password>Mv8fKq2LmXz7Wc</db.password> #want\n</properties>\n"},
		{"settings.toml", "[email]\nsmtp_password = \"${SMTP_PASSWORD}\"\napi_key = \"env:SENDGRID_API_KEY\"\nsecret_file = \"file:/etc/app/secret\"\n"},
		{"Jenkinsfile", "environment {\n  SONAR_TOKEN = credentials('sonar-token')\n  DEPLOY_KEY = 'dk8fKq2LmXz7Wc4N' #want\n}\nsh \"mysql -u ci -pJk8fKq2LmX -h db\" #want\nsh 'mysql -u ci -p\"$MYSQL_PASSWORD\"'\n"},
		{"docs/mariadb.md", "Connect with:\n\n    mysql -uroot -prandompassword -e 'select 1'\n    mysql -uroot -pQ8fKq2LmXz7 -e 'select 1' #want\n"},
		{"config.jsonnet", "{\n  password: secrets.db_password,\n  adminPassword: 'Jn8fKq2LmXz7Wc', #want\n}\n"},
		// Code: a call that gives a name a value is an assignment; a table of
		// rule IDs and titles, an enum constant and a placeholder in a comment
		// are not.
		{"rules.go", "var all = []rule{\n\ttoken(\"github-token\", \"GitHub token\", pattern),\n}\nconst ReasonSecretsMissing = \"SecretsMissing\"\n// <db.password>value</db.password>\nfunc init() {\n\tos.Setenv(\"DB_PASSWORD\", \"Gs8fKq2LmXz7Wc\") #want\n\tmysqlHelp := \"mysql -pSECRET, sshpass -p\"\n}\n"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var want []string
			lines := strings.Split(tc.content, "\n")
			for i, l := range lines {
				if strings.HasSuffix(l, " #want") {
					want = append(want, strconv.Itoa(i+1))
					lines[i] = strings.TrimSuffix(l, " #want")
				}
			}
			if tc.file == "mongo/keyfile" {
				want = []string{"1"}
			}
			got := sc.ScanFile(&File{Path: tc.file}, []byte(strings.Join(lines, "\n")))
			var gotLines []string
			seen := map[int]bool{}
			for _, f := range got {
				if !seen[f.Line] {
					seen[f.Line] = true
					gotLines = append(gotLines, strconv.Itoa(f.Line))
				}
			}
			if strings.Join(gotLines, ",") != strings.Join(want, ",") {
				t.Errorf("findings on lines %v, want %v (%s)", gotLines, want, positions(got))
			}
		})
	}
}
