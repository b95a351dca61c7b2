package migration

import (
	"path"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner"
)

// History splits the findings of a Git history scan against the working
// tree's: values still in the tree are marked Committed on their sites (the
// migration moves them, but they must be rotated too); values only in
// history are returned, one per fingerprint, with the commit that added them.
//
// prefix is the scan root relative to the repository root ("" when they are
// the same), since history paths are repository-relative. Fingerprints are
// keyed by rule, path and value, so both scans must use one Fingerprinter.
func History(prefix string, tree []scanner.Finding, sites []*Site, history []scanner.Finding) []Skip {
	inTree := map[string]bool{}
	for _, f := range tree {
		inTree[f.Fingerprint] = true
	}
	committed := map[string]bool{} // file:line of tree findings seen in history
	var only []Skip
	seen := map[string]bool{}
	for _, h := range history {
		rel := h.File
		if prefix != "" && prefix != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(h.File, strings.TrimSuffix(prefix, "/")+"/"); !ok {
				continue // outside the tree being migrated
			}
		}
		fp := h.Fingerprint
		if prefix != "" && prefix != "." {
			fp = "" // paths differ, so fingerprints do: compare by file and mask
		}
		if fp != "" && inTree[fp] || fp == "" && treeHas(tree, rel, h) {
			committed[rel] = true
			continue
		}
		if seen[h.Fingerprint] {
			continue
		}
		seen[h.Fingerprint] = true
		only = append(only, Skip{File: path.Clean(rel), Line: h.Line, Commit: h.Commit, Rule: h.RuleID, Reason: "only in Git history: rotate"})
	}
	for _, s := range sites {
		if committed[s.File] {
			s.Committed = true
		}
	}
	return only
}

func treeHas(tree []scanner.Finding, file string, h scanner.Finding) bool {
	for _, f := range tree {
		if f.File == file && f.RuleID == h.RuleID && f.Secret == h.Secret {
			return true
		}
	}
	return false
}
