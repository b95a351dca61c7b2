package scanner

import (
	"bytes"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

// templateObjects reads a Helm or Go template as the YAML it renders to, so
// that a Secret written in templates/ has its data decoded and judged like
// any other: the actions are neutralised and the result is parsed. Documents
// that do not parse (conditionals around duplicate keys, actions producing
// structure) are left to the line scan, which has read the file already.
func (f *fileScan) templateObjects() {
	data := blankStatements(f.data)
	if !bytes.Contains(data, []byte("{{")) {
		docs, _ := manifest.Parse(data)
		for _, d := range docs {
			f.object(d)
		}
		return
	}
	docs, _ := manifest.Parse(neutralise(data))
	for _, d := range docs {
		f.object(d)
	}
}

// blankStatements blanks Jinja statement and comment lines ({% if %},
// {# ... #}) alone on their line, as neutralise does for Helm actions, so a
// secret.yaml.j2 parses as the YAML it renders to.
func blankStatements(data []byte) []byte {
	if !bytes.Contains(data, []byte("{%")) && !bytes.Contains(data, []byte("{#")) {
		return data
	}
	out := bytes.Clone(data)
	for ls := 0; ls < len(out); {
		le := bytes.IndexByte(out[ls:], '\n')
		if le < 0 {
			le = len(out)
		} else {
			le += ls
		}
		t := bytes.TrimSpace(out[ls:le])
		if (bytes.HasPrefix(t, []byte("{%")) && bytes.HasSuffix(t, []byte("%}"))) || (bytes.HasPrefix(t, []byte("{#")) && bytes.HasSuffix(t, []byte("#}"))) {
			for j := ls; j < le; j++ {
				out[j] = ' '
			}
		}
		ls = le + 1
	}
	return out
}

// neutralise returns a copy of a template in which every action {{ ... }}
// keeps its length and line breaks, so YAML positions stay those of the
// file: an action alone on its line (if, range, include | nindent) becomes
// blank, an action inside a value becomes ${___}, which the checks read as a
// substitution, never as a literal.
func neutralise(data []byte) []byte {
	out := bytes.Clone(data)
	for i := 0; i < len(out); {
		s := bytes.Index(out[i:], []byte("{{"))
		if s < 0 {
			break
		}
		s += i
		e := bytes.Index(out[s+2:], []byte("}}"))
		if e < 0 {
			e = len(out)
		} else {
			e = s + 2 + e + 2
		}
		ls := bytes.LastIndexByte(out[:s], '\n') + 1
		le := bytes.IndexByte(out[e:], '\n')
		if le < 0 {
			le = len(out)
		} else {
			le += e
		}
		alone := len(bytes.TrimSpace(out[ls:s])) == 0 && len(bytes.TrimSpace(out[e:le])) == 0
		if alone || e-s < 4 || bytes.IndexByte(out[s:e], '\n') >= 0 {
			for j := s; j < e; j++ {
				if out[j] != '\n' {
					out[j] = ' '
				}
			}
		} else {
			out[s], out[s+1] = '$', '{'
			for j := s + 2; j < e-1; j++ {
				out[j] = '_'
			}
			out[e-1] = '}'
		}
		i = e
	}
	return out
}
