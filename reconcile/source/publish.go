package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Why a branch is not published to: the caller tells them apart with
// errors.Is and reports each under its own reason.
var (
	// ErrRefMoved: the branch holds a commit the publisher did not put there
	// and that is not an ancestor of the revision: someone else moved it.
	ErrRefMoved = errors.New("the branch moved on its own")
	// ErrNewerOnRef: the branch holds a descendant of the revision; going
	// back is never a fast-forward.
	ErrNewerOnRef = errors.New("the branch holds a newer revision")
)

// Publication is one fast-forward to make: Branch of the repository at URL
// to Revision, which is reachable from the branch From (the one the
// revision was fetched from; "" for any branch). Last is what the publisher last put on
// Branch ("" when it never did, or does not know): a branch that holds
// anything else is never moved.
type Publication struct {
	URL, Branch, Revision, From, Last string
	Creds                             *Credentials
}

// Publish fast-forwards p.Branch to p.Revision, creating it when missing,
// and returns what the branch held before ("" when it did not exist). It
// never forces: the push carries the old value, so a branch moved by
// someone else in between is refused by the Git host, and a branch that
// holds anything but an ancestor of the revision (or anything other than
// p.Last, when set) fails with ErrRefMoved or ErrNewerOnRef before any push.
func (f *Fetcher) Publish(ctx context.Context, p Publication) (string, error) {
	auth, err := authFor(p.URL, p.Creds)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	what := redactURL(p.URL)
	ctx = withWireBudget(ctx, f.opts.MaxFetchBytes, what)
	target := plumbing.NewBranchReferenceName(p.Branch)

	held, err := f.branchHead(ctx, p, target)
	if err != nil {
		return "", err
	}
	if held == p.Revision {
		return held, nil
	}
	if held != "" && p.Last != "" && held != p.Last {
		return held, fmt.Errorf("%w: branch %s of %s holds %s, not %s which this Sync published last: move it back or publish elsewhere (spec.publish.ref)",
			ErrRefMoved, p.Branch, what, short(held), short(p.Last))
	}

	repo, err := f.history(ctx, p, held, auth, what)
	if err != nil {
		return held, err
	}
	rev, err := repo.CommitObject(plumbing.NewHash(p.Revision))
	if err != nil {
		return held, fmt.Errorf("revision %s is not on branch %s of %s any more: %w", short(p.Revision), p.From, what, err)
	}
	if held != "" {
		if err := fastForward(repo, held, rev, p.Branch, what); err != nil {
			return held, err
		}
	}
	return held, push(ctx, repo, p, held, rev.Hash, auth, what)
}

// history fetches the whole history of the revision's branch (every
// branch without one) and of the published branch, in bounded memory:
// ancestry needs it, and so does the push, which sends what the host lacks.
func (f *Fetcher) history(ctx context.Context, p Publication, held string, auth transport.AuthMethod, what string) (*git.Repository, error) {
	repo, err := git.Init(newBoundedStorage(f.opts, what), nil)
	if err != nil {
		return nil, fmt.Errorf("preparing to publish to %s: %w", what, err)
	}
	specs := []gitconfig.RefSpec{"+refs/heads/*:refs/remotes/origin/*"}
	if p.From != "" {
		specs = []gitconfig.RefSpec{gitconfig.RefSpec(fmt.Sprintf("+%s:refs/remotes/origin/%s", plumbing.NewBranchReferenceName(p.From), p.From))}
		if held != "" && p.Branch != p.From {
			specs = append(specs, gitconfig.RefSpec(fmt.Sprintf("+%s:refs/remotes/origin/%s", plumbing.NewBranchReferenceName(p.Branch), p.Branch)))
		}
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{p.URL}}); err != nil {
		return nil, fmt.Errorf("preparing to publish to %s: %w", what, err)
	}
	if err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: specs, Auth: auth, Tags: git.NoTags}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetching %s and %s of %s to publish: %w", orAny(p.From), p.Branch, what, err)
	}
	return repo, nil
}

// push moves p.Branch to rev, on condition that it still holds held (the
// Git host refuses the update otherwise).
func push(ctx context.Context, repo *git.Repository, p Publication, held string, rev plumbing.Hash, auth transport.AuthMethod, what string) error {
	local := plumbing.ReferenceName("refs/heads/latchkey-publish")
	if err := repo.Storer.SetReference(plumbing.NewHashReference(local, rev)); err != nil {
		return err
	}
	target := plumbing.NewBranchReferenceName(p.Branch)
	opts := &git.PushOptions{
		RemoteName: "origin", Auth: auth,
		RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec(fmt.Sprintf("%s:%s", local, target))},
	}
	if held != "" {
		opts.RequireRemoteRefs = []gitconfig.RefSpec{gitconfig.RefSpec(fmt.Sprintf("%s:%s", held, target))}
	}
	if err := repo.PushContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("pushing %s to branch %s of %s (the credentials of spec.source.secretRef need write access): %w",
			short(p.Revision), p.Branch, what, err)
	}
	return nil
}

func orAny(branch string) string {
	if branch == "" {
		return "every branch"
	}
	return "branch " + branch
}

// branchHead is the commit target points to, "" when it does not exist.
func (f *Fetcher) branchHead(ctx context.Context, p Publication, target plumbing.ReferenceName) (string, error) {
	auth, err := authFor(p.URL, p.Creds)
	if err != nil {
		return "", err
	}
	remote := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{p.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return "", fmt.Errorf("listing the refs of %s: %w", redactURL(p.URL), err)
	}
	for _, r := range refs {
		if r.Name() == target {
			return r.Hash().String(), nil
		}
	}
	return "", nil
}

// fastForward checks that moving branch from held to rev is a fast-forward.
func fastForward(repo *git.Repository, held string, rev *object.Commit, branch, what string) error {
	old, err := repo.CommitObject(plumbing.NewHash(held))
	if err != nil {
		return fmt.Errorf("reading %s, the head of branch %s of %s: %w", short(held), branch, what, err)
	}
	ok, err := old.IsAncestor(rev)
	if err != nil {
		return fmt.Errorf("comparing %s with %s: %w", short(held), short(rev.Hash.String()), err)
	}
	if ok {
		return nil
	}
	if newer, err := rev.IsAncestor(old); err == nil && newer {
		return fmt.Errorf("%w: branch %s of %s holds %s, which already contains %s: an older revision is never published",
			ErrNewerOnRef, branch, what, short(held), short(rev.Hash.String()))
	}
	return fmt.Errorf("%w: branch %s of %s holds %s, which is not an ancestor of %s: it is never overwritten; reset it to a commit of %s, or publish elsewhere (spec.publish.ref)",
		ErrRefMoved, branch, what, short(held), short(rev.Hash.String()), short(rev.Hash.String()))
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
