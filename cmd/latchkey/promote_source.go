package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/latchkey-dev/latchkey/internal/memfs"
	"github.com/latchkey-dev/latchkey/reconcile/source"
)

// Environment variables of the Git credentials promote fetches a remote
// repository with (HTTP(S) basic auth; a token goes in the password).
const (
	envGitUsername = "LATCHKEY_GIT_USERNAME"
	envGitPassword = "LATCHKEY_GIT_PASSWORD"
)

// fullRevision is a whole commit hash: what an approval must name, and
// what a remote revision must be unless it is a branch or a tag.
var fullRevision = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// isRemote tells a repository URL from a directory.
func isRemote(repo string) bool {
	return strings.Contains(repo, "://") || strings.HasPrefix(repo, "git@")
}

// revisionTree is one revision of a repository, in memory.
type revisionTree struct {
	fsys     fs.FS
	revision string // the full commit hash
}

// openRevision reads revision rev of repo into memory: from a local
// repository (the CI checkout; rev is anything `git rev-parse` takes that
// go-git understands: a branch, a tag, HEAD~1, a hash, abbreviated or not)
// or a remote one fetched like the controller fetches (rev a branch, a tag
// or a full commit hash).
func openRevision(ctx context.Context, repo, rev string) (*revisionTree, error) {
	if isRemote(repo) {
		return fetchRevision(ctx, repo, rev)
	}
	r, err := git.PlainOpenWithOptions(repo, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("opening the Git repository at %s (--repo): %w", repo, err)
	}
	h, err := r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("revision %q of %s: %w (fetch it first, or name a branch, tag or commit)", rev, repo, err)
	}
	commit, err := r.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("revision %q of %s: %w", rev, repo, err)
	}
	files, err := source.TreeFiles(commit, source.DefaultMaxBytes)
	if err != nil {
		return nil, err
	}
	return &revisionTree{fsys: memfs.New(files), revision: commit.Hash.String()}, nil
}

func fetchRevision(ctx context.Context, url, rev string) (*revisionTree, error) {
	f := source.NewFetcher(source.Options{})
	var creds *source.Credentials
	if u, p := os.Getenv(envGitUsername), os.Getenv(envGitPassword); u != "" || p != "" {
		creds = &source.Credentials{Username: u, Password: p}
	}
	refs := []source.Ref{{Commit: rev}}
	if !fullRevision.MatchString(rev) {
		refs = []source.Ref{{Branch: rev}, {Tag: rev}}
	}
	var firstErr error
	for _, ref := range refs {
		commit, err := f.Revision(ctx, url, ref, creds, 0)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		snap, err := f.Fetch(ctx, url, ref, commit, creds)
		if err != nil {
			return nil, err
		}
		return &revisionTree{fsys: snap.FS(), revision: commit}, nil
	}
	return nil, fmt.Errorf("revision %q of %s is neither a branch, a tag nor a full commit hash: %w", rev, url, firstErr)
}
