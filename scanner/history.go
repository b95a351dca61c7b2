package scanner

import (
	"context"
	"strings"
)

// rotateHistoryOnly is the fix of a finding that is in a commit but no
// longer in HEAD: replacing the value in the file is done already; what is
// left is that every clone holds it.
const rotateHistoryOnly = "rotate: it is in history (no longer in HEAD, but every clone has it): revoke and replace the " +
	"credential at its issuer; then accept this finding in the baseline (latchkey scan --git --write-baseline FILE). " +
	"Rewriting history (git filter-repo) does not make it secret again"

// rotateToo is appended to the fix of a committed finding still in HEAD.
const rotateToo = "; it is committed, so rotate it too"

// MarkHistory rewrites the fix of findings from Git history: those whose
// secret is no longer in the file at HEAD say to rotate it; the others say
// to rotate it as well as replace it.
func (s *Scanner) MarkHistory(ctx context.Context, repo string, findings []Finding) {
	atHead := map[string]map[string]bool{} // file → fingerprints in HEAD's version
	for i := range findings {
		f := &findings[i]
		if f.Commit == "" {
			continue
		}
		fps, ok := atHead[f.File]
		if !ok {
			fps = map[string]bool{}
			if data, err := git(ctx, repo, "cat-file", "blob", "HEAD:"+f.File); err == nil && !isBinary(data) {
				for _, h := range s.ScanFile(&File{Path: f.File, Sibling: func(p string) ([]byte, error) {
					return git(ctx, repo, "cat-file", "blob", "HEAD:"+p)
				}}, data) {
					fps[h.Fingerprint] = true
				}
			}
			atHead[f.File] = fps
		}
		if fps[f.Fingerprint] {
			if !strings.HasSuffix(f.Fix, rotateToo) {
				f.Fix += rotateToo
			}
		} else {
			f.Fix = rotateHistoryOnly
		}
	}
}

// MarkCommitted appends the rotation advice to findings of content that is
// committed (--diff scans HEAD, which CI has received from a push).
func MarkCommitted(findings []Finding) {
	for i := range findings {
		if !strings.HasSuffix(findings[i].Fix, rotateToo) {
			findings[i].Fix += rotateToo
		}
	}
}
