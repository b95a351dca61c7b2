package scanner

import (
	"context"
	"fmt"
	"strings"
)

// Diff is the files changed between a base revision and HEAD, whole, as they
// are in HEAD. Unlike History it needs only the two trees, not the commits
// between them, so it works in the depth-1 clones CI checks out by default:
// a missing base is fetched at depth 1. It does not see a secret added by
// one commit and removed by a later one of the range; History does.
type Diff struct {
	Repo string
	// Base is the revision to compare with, e.g. origin/main.
	Base string
	// Log receives what the mode did (a fetch, the fallback from the merge
	// base to the base tree), for the user.
	Log func(string)
}

// Files implements Source.
func (d *Diff) Files(ctx context.Context, yield func(*File) error) error {
	if strings.HasPrefix(d.Base, "-") {
		return fmt.Errorf("--diff base %q looks like an option", d.Base)
	}
	base, err := d.resolve(ctx)
	if err != nil {
		return err
	}
	// The merge base keeps changes made on the base branch since the fork
	// out of the scan; without history the base tree itself is the best
	// available (it can add files the branch did not touch, never hide one).
	from := base
	if mb, err := git(ctx, d.Repo, "merge-base", base, "HEAD"); err == nil {
		from = strings.TrimSpace(string(mb))
	} else {
		d.log(fmt.Sprintf("no merge base of %s and HEAD in this clone (shallow): scanning the files that differ between %s and HEAD", d.Base, d.Base))
	}
	out, err := git(ctx, d.Repo, "diff", "--raw", "-z", "--no-renames", "--diff-filter=AMT", "--no-textconv", from, "HEAD", "--")
	if err != nil {
		return fmt.Errorf("listing the files changed since %s: %w", d.Base, err)
	}
	changes := parseRaw(out, "")
	d.log(fmt.Sprintf("scanning %d file(s) changed between %s and HEAD, as they are in HEAD", len(changes), d.Base))
	return readBlobs(ctx, d.Repo, changes, func(change) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) { return git(ctx, d.Repo, "cat-file", "blob", "HEAD:"+p) }
	}, yield)
}

// resolve finds the base commit, fetching it at depth 1 from its remote when
// the clone does not have it (origin/main in a single-branch checkout).
func (d *Diff) resolve(ctx context.Context) (string, error) {
	if out, err := git(ctx, d.Repo, "rev-parse", "--verify", "--quiet", d.Base+"^{commit}"); err == nil {
		return strings.TrimSpace(string(out)), nil
	}
	remote, branch := "origin", d.Base
	if r, b, ok := strings.Cut(d.Base, "/"); ok {
		if _, err := git(ctx, d.Repo, "remote", "get-url", r); err == nil {
			remote, branch = r, b
		}
	}
	dst := "refs/remotes/" + remote + "/" + branch
	if _, err := git(ctx, d.Repo, "fetch", "--no-tags", "--depth=1", remote, "+"+branch+":"+dst); err != nil {
		return "", fmt.Errorf("--diff %s: this clone does not have it, and fetching %s from %s failed (%v): "+
			"fetch it before the scan (git fetch --depth=1 %s %s)", d.Base, branch, remote, err, remote, branch)
	}
	d.log(fmt.Sprintf("fetched %s from %s at depth 1", branch, remote))
	out, err := git(ctx, d.Repo, "rev-parse", "--verify", dst+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("--diff %s: %w", d.Base, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (d *Diff) log(msg string) {
	if d.Log != nil {
		d.Log(msg)
	}
}

// Shallow reports whether the repository at dir is a shallow clone.
func Shallow(ctx context.Context, dir string) bool {
	out, err := git(ctx, dir, "rev-parse", "--is-shallow-repository")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}
