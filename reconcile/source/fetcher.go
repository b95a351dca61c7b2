package source

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/latchkey-dev/latchkey/config"
)

// Ref is the revision a Sync follows: Commit wins over Tag, Tag over Branch.
type Ref struct {
	Branch, Tag, Commit string
}

func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	}
	return "branch " + r.branch()
}

// RefNotFoundError: the repository has no such branch or tag (yet: a
// published branch exists only once something was published to it).
type RefNotFoundError struct {
	Repository string
	Ref        Ref
}

func (e *RefNotFoundError) Error() string { return fmt.Sprintf("%s has no %s", e.Repository, e.Ref) }

func (r Ref) branch() string {
	if r.Branch == "" {
		return "main"
	}
	return r.Branch
}

// Options configure a Fetcher.
type Options struct {
	// Timeout bounds each network operation (default 60s).
	Timeout time.Duration
	// MaxSnapshots is how many revisions are kept in memory (default 32).
	MaxSnapshots int
	// CacheBytes bounds the snapshots kept in memory, together (default
	// DefaultCacheBytes); the least recently used are dropped first.
	CacheBytes int64
	// MaxFetchBytes bounds what one fetch or ref listing receives from the
	// Git host (default DefaultMaxFetchBytes): over HTTP(S) every byte of
	// every response, over any transport the pack.
	MaxFetchBytes int64
	// MaxFileBytes bounds each Git object once inflated (default
	// DefaultMaxFileBytes), checked from the pack's headers before it is
	// inflated.
	MaxFileBytes int64
	// MaxBytes bounds the Git objects of one fetch once inflated, and so the
	// content of one revision (default DefaultMaxBytes): a larger repository
	// fails instead of exhausting the controller's memory.
	MaxBytes int64
}

// Fetcher resolves refs to revisions and fetches revisions. It is safe for
// concurrent use.
type Fetcher struct {
	opts   Options
	flight singleflight.Group
	// inflating bounds the objects all clones in progress inflate at once
	// to MaxBytes: the per-fetch bounds alone would let --concurrency
	// hostile repositories each take their full share at the same time.
	inflating *semaphore.Weighted

	mu         sync.Mutex
	heads      map[string]head
	snaps      map[string]*list.Element // of *Snapshot, keyed by snapKey
	lru        *list.List
	cacheBytes int64 // sum of the cached snapshots' sizes

	now func() time.Time
}

type head struct {
	revision  string
	checkedAt time.Time
}

type lruEntry struct {
	key  string
	snap *Snapshot
}

// NewFetcher returns a Fetcher.
func NewFetcher(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxSnapshots <= 0 {
		opts.MaxSnapshots = 32
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFetchBytes <= 0 {
		opts.MaxFetchBytes = DefaultMaxFetchBytes
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	return &Fetcher{opts: opts, inflating: semaphore.NewWeighted(opts.MaxBytes), heads: map[string]head{}, snaps: map[string]*list.Element{}, lru: list.New(), now: time.Now}
}

// Revision returns the commit ref points to in the repository at repoURL. A
// lookup younger than maxAge is reused, so that many Syncs following one
// branch ask the Git host once per interval; maxAge 0 always asks.
func (f *Fetcher) Revision(ctx context.Context, repoURL string, ref Ref, creds *Credentials, maxAge time.Duration) (string, error) {
	if ref.Commit != "" {
		return ref.Commit, nil
	}
	key := repoURL + "\x00" + ref.String() + "\x00" + creds.fingerprint()
	f.mu.Lock()
	h, ok := f.heads[key]
	f.mu.Unlock()
	if ok && maxAge > 0 && f.now().Sub(h.checkedAt) < maxAge {
		return h.revision, nil
	}
	v, err, _ := f.flight.Do("head\x00"+key, func() (any, error) {
		rev, err := f.lsRemote(ctx, repoURL, ref, creds)
		if err != nil {
			return "", err
		}
		f.mu.Lock()
		f.heads[key] = head{revision: rev, checkedAt: f.now()}
		f.mu.Unlock()
		return rev, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// Forget drops the cached revision of every ref of repoURL, so the next
// Revision asks the host (a webhook said the repository changed).
func (f *Fetcher) Forget(repoURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.heads {
		if strings.HasPrefix(k, repoURL+"\x00") {
			delete(f.heads, k)
		}
	}
}

func (f *Fetcher) lsRemote(ctx context.Context, repoURL string, ref Ref, creds *Credentials) (string, error) {
	auth, err := authFor(repoURL, creds)
	if err != nil {
		return "", err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	ctx = withWireBudget(ctx, f.opts.MaxFetchBytes, redactURL(repoURL))
	remote := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{repoURL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		// Its last branch deleted, a repository has no refs at all: the
		// branch followed is gone, as when others remain.
		return "", &RefNotFoundError{Repository: redactURL(repoURL), Ref: ref}
	}
	if err != nil {
		return "", fmt.Errorf("listing the refs of %s: %w", redactURL(repoURL), f.timedOut(parent, err))
	}
	var name plumbing.ReferenceName
	if ref.Tag != "" {
		name = plumbing.NewTagReferenceName(ref.Tag)
	} else {
		name = plumbing.NewBranchReferenceName(ref.branch())
	}
	var found string
	for _, r := range refs {
		switch r.Name() {
		case name:
			if found == "" {
				found = r.Hash().String()
			}
		case name + "^{}":
			found = r.Hash().String() // an annotated tag: the commit it points to
		}
	}
	if found == "" {
		return "", &RefNotFoundError{Repository: redactURL(repoURL), Ref: ref}
	}
	return found, nil
}

// Fetch returns the content of revision, which ref points to (Revision's
// result, or the pinned commit). Each revision is cloned once and shared.
func (f *Fetcher) Fetch(ctx context.Context, repoURL string, ref Ref, revision string, creds *Credentials) (*Snapshot, error) {
	key := repoURL + "\x00" + revision + "\x00" + creds.fingerprint()
	if s := f.cached(key); s != nil {
		return s, nil
	}
	v, err, _ := f.flight.Do("fetch\x00"+key, func() (any, error) {
		if s := f.cached(key); s != nil {
			return s, nil
		}
		s, err := f.clone(ctx, repoURL, ref, revision, creds)
		if err != nil {
			return nil, err
		}
		f.store(key, s)
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Snapshot), nil
}

func (f *Fetcher) cached(key string) *Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.snaps[key]; ok {
		f.lru.MoveToFront(e)
		return e.Value.(*lruEntry).snap
	}
	return nil
}

// store caches s, then drops the least recently used snapshots until the
// cache is within MaxSnapshots and CacheBytes. A snapshot larger than
// CacheBytes on its own is not kept (its Syncs still hold it while they use
// it; the next reconcile fetches it again).
func (f *Fetcher) store(key string, s *Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps[key] = f.lru.PushFront(&lruEntry{key: key, snap: s})
	f.cacheBytes += s.Size()
	for f.lru.Len() > 0 && (f.lru.Len() > f.opts.MaxSnapshots || f.cacheBytes > f.opts.CacheBytes) {
		old := f.lru.Back()
		f.lru.Remove(old)
		e := old.Value.(*lruEntry)
		delete(f.snaps, e.key)
		f.cacheBytes -= e.snap.Size()
	}
}

// clone fetches revision into memory: a depth-1 fetch of the branch or tag
// when revision is its tip, the whole history when a commit is pinned (a Git
// server only hands out advertised tips in a shallow fetch).
func (f *Fetcher) clone(ctx context.Context, repoURL string, ref Ref, revision string, creds *Credentials) (*Snapshot, error) {
	auth, err := authFor(repoURL, creds)
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	ctx = withWireBudget(ctx, f.opts.MaxFetchBytes, redactURL(repoURL))
	opts := &git.CloneOptions{URL: repoURL, Auth: auth, NoCheckout: true, Tags: git.NoTags}
	if ref.Commit == "" {
		opts.Depth, opts.SingleBranch = 1, true
		if ref.Tag != "" {
			opts.ReferenceName = plumbing.NewTagReferenceName(ref.Tag)
		} else {
			opts.ReferenceName = plumbing.NewBranchReferenceName(ref.branch())
		}
	}
	storage := newBoundedStorage(f.opts, redactURL(repoURL))
	var reserved int64
	storage.reserve = func(n int64) error {
		if err := f.inflating.Acquire(ctx, n); err != nil {
			return fmt.Errorf("waiting for the other Git fetches in progress to leave room for %s (they share %s, %s): %w",
				redactURL(repoURL), config.ByteSize(f.opts.MaxBytes), flagMaxBytes, err)
		}
		reserved += n
		return nil
	}
	// Released once the revision's files are copied out: the inflated
	// objects are garbage after that.
	defer func() { f.inflating.Release(reserved) }()
	repo, err := git.CloneContext(ctx, storage, nil, opts)
	if ref.Commit == "" && (errors.Is(err, transport.ErrEmptyRemoteRepository) || errors.Is(err, git.NoMatchingRefSpecError{})) {
		// The branch or tag was deleted since Revision saw it.
		return nil, &RefNotFoundError{Repository: redactURL(repoURL), Ref: ref}
	}
	if err != nil {
		return nil, fmt.Errorf("fetching %s %s: %w", redactURL(repoURL), ref, f.timedOut(parent, err))
	}
	commit, err := repo.CommitObject(plumbing.NewHash(revision))
	if err != nil {
		if ref.Commit == "" {
			// The branch moved between the ref lookup and the fetch: take what
			// was fetched; the next check records the new revision.
			h, herr := repo.Head()
			if herr != nil {
				return nil, fmt.Errorf("fetching %s %s: %w", redactURL(repoURL), ref, err)
			}
			commit, err = repo.CommitObject(h.Hash())
		}
		if err != nil {
			return nil, fmt.Errorf("%s has no commit %s: %w", redactURL(repoURL), revision, err)
		}
	}
	files, err := TreeFiles(commit, f.opts.MaxBytes)
	var limit *LimitError
	if errors.As(err, &limit) {
		limit.What, limit.Flag = fmt.Sprintf("revision %s of %s", commit.Hash, redactURL(repoURL)), flagMaxBytes
	}
	if err != nil {
		return nil, err
	}
	return newSnapshot(repoURL, commit.Hash.String(), files), nil
}

// timedOut names --git-timeout in err when it is the Fetcher's timeout
// that expired (not the caller's deadline), so the message says what to
// raise for a slow Git host.
func (f *Fetcher) timedOut(parent context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("no answer within %s (%s): %w", f.opts.Timeout, flagTimeout, err)
	}
	return err
}

func authFor(repoURL string, creds *Credentials) (transport.AuthMethod, error) {
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the repository URL: %w", err)
	}
	if u.User != nil {
		_, hasPassword := u.User.Password()
		if u.Scheme != "ssh" || hasPassword {
			return nil, errors.New("the repository URL carries credentials: put them in the Sync's secretRef instead")
		}
		// ssh://git@host/repo: the user is the SSH login, as every Git
		// host writes its SSH URLs, not a credential. The Secret's
		// username, if any, still wins.
		if creds != nil && creds.Username == "" {
			withUser := *creds
			withUser.Username = u.User.Username()
			creds = &withUser
		}
	}
	return creds.method(u.Scheme)
}

// redactURL drops any user information from a URL before it goes into an
// error message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
