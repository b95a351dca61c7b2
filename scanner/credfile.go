package scanner

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// passwordField is how a file of credentials names its passwords: the
// password field of each line. Such files are credentials by their format
// (and name), not by a key name on each line.
type passwordField func(line []byte) (start, end int, ok bool)

// credentialFormat returns the format of a file known by its name, or nil.
func credentialFormat(base string) passwordField {
	switch {
	case base == ".pgpass" || base == "pgpass" || strings.HasSuffix(base, ".pgpass"):
		return pgpassField // host:port:database:user:password
	case base == "htpasswd" || base == ".htpasswd" || strings.HasSuffix(base, ".htpasswd") || base == "rsyncd.secrets" ||
		strings.HasSuffix(base, ".secrets") || base == "users.passwd":
		return afterFirstColon // user:password (a hash in htpasswd, judged as such)
	case base == "userlist.txt":
		return secondQuoted // pgbouncer: "user" "password"
	}
	return nil
}

// directiveFile is a configuration file written as "directive value" lines.
func directiveFile(p string) bool {
	base := path.Base(p)
	switch strings.ToLower(path.Ext(base)) {
	case ".conf", ".cfg", ".cnf":
		return true
	}
	return base == ".netrc" || base == "_netrc" || base == "netrc"
}

func pgpassField(line []byte) (int, int, bool) {
	fields, start := 0, 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++ // an escaped ':' or '\'
		case ':':
			fields++
			if fields == 4 {
				start = i + 1
			}
		}
	}
	return start, len(line), fields == 4
}

func afterFirstColon(line []byte) (int, int, bool) {
	i := bytes.IndexByte(line, ':')
	return i + 1, len(line), i > 0 && i+1 < len(line)
}

func secondQuoted(line []byte) (int, int, bool) {
	q := 0
	start := 0
	for i, c := range line {
		if c != '"' {
			continue
		}
		q++
		switch q {
		case 3:
			start = i + 1
		case 4:
			return start, i, i > start
		}
	}
	return 0, 0, false
}

// credentialLines judges the password of every line of a credential file;
// hashes (htpasswd, SCRAM, md5) and wildcards are not plaintext.
func (f *fileScan) credentialLines() {
	format := credentialFormat(path.Base(f.file.Path))
	for off := 0; off < len(f.data); {
		end := bytes.IndexByte(f.data[off:], '\n')
		if end < 0 {
			end = len(f.data) - off
		}
		line := bytes.TrimRight(f.data[off:off+end], "\r \t")
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			if s, e, ok := format(line); ok && judge("password", string(line[s:e]), inSecretData) != notSecret {
				l, col := f.pos(off + s)
				f.report(finding{
					check: checkCredentialFile,
					why:   fmt.Sprintf("%s holds a plaintext password", path.Base(f.file.Path)),
					line:  l, col: col, secret: string(line[s:e]), key: "password",
				})
			}
		}
		off += end + 1
	}
}

// keyFile reports a file whose name says it is a key or a secret and whose
// whole content is one generated value: a MongoDB or Redis keyfile, a token
// file, a Django secret file.
func (f *fileScan) keyFile() {
	base := strings.ToLower(path.Base(f.file.Path))
	if !keyFileName(base) || len(f.data) > 4096 {
		return
	}
	value := strings.TrimSpace(string(f.data))
	if strings.ContainsAny(value, " \t") || !rules.Random(strings.ReplaceAll(value, "\n", "")) || !rules.Literal(value) {
		return
	}
	f.report(finding{
		check: checkCredentialFile,
		why:   fmt.Sprintf("%s is a key file: its content is the secret", path.Base(f.file.Path)),
		line:  1, col: 1, secret: value, key: "key",
	})
}

// keyFileName: keyfile, mongodb-keyfile, secret.key (without a PEM body),
// api.token, master.key.
func keyFileName(base string) bool {
	name := strings.TrimSuffix(base, path.Ext(base))
	switch path.Ext(base) {
	case ".key", ".token", ".secret", ".pass", ".password":
		return true
	}
	for _, w := range []string{"keyfile", "key-file", "key_file", "secret", "token", "password", "passwd"} {
		if strings.Contains(name, w) && !strings.Contains(name, "example") && !strings.Contains(name, "sample") {
			return true
		}
	}
	return false
}
