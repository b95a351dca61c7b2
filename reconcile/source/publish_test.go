package source

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestPublishOnlyFastForwards publishes to a real Git server over HTTP with
// basic auth, and checks that a branch is created, fast-forwarded, and
// otherwise never moved.
func TestPublishOnlyFastForwards(t *testing.T) {
	srv := testenv.StartGitServer(t, testenv.WithBasicAuth("bot", "hunter2"))
	repo := srv.NewRepo(t, "app")
	creds := &Credentials{Username: "bot", Password: "hunter2"}
	r1 := repo.Commit(t, "R1", map[string]string{"a.yaml": "a: 1\n"})
	r2 := repo.Commit(t, "R2", map[string]string{"a.yaml": "a: 2\n"})
	r3 := repo.Commit(t, "R3", map[string]string{"a.yaml": "a: 3\n"})
	f := NewFetcher(Options{})
	ctx := context.Background()
	publish := func(rev, last string) (string, error) {
		return f.Publish(ctx, Publication{URL: repo.URL, Branch: "verified/dev", Revision: rev, From: "main", Last: last, Creds: creds})
	}

	steps := []struct {
		name    string
		before  func()
		rev     string
		last    string
		wantErr error
		wantRef string // what the branch holds after
	}{
		{name: "a missing branch is created", rev: r1, wantRef: r1},
		{name: "publishing what it holds changes nothing", rev: r1, last: r1, wantRef: r1},
		{name: "a descendant is a fast-forward", rev: r2, last: r1, wantRef: r2},
		{name: "an older revision is never published", rev: r1, last: r2, wantErr: ErrNewerOnRef, wantRef: r2},
		{name: "a branch that is not at what this Sync published last is left alone", rev: r3, last: r1, wantErr: ErrRefMoved, wantRef: r2},
		{name: "a hand-made commit on the branch is never overwritten",
			before: func() { repo.PushCommit(t, r2, "verified/dev", "by hand") }, rev: r3, wantErr: ErrRefMoved},
		{name: "put back, the branch moves on", before: func() { repo.ForcePush(t, r2, "verified/dev") }, rev: r3, last: r2, wantRef: r3},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		held := repo.Ref(t, "verified/dev")
		if st.wantRef == "" {
			st.wantRef = held
		}
		_, err := publish(st.rev, st.last)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if got := repo.Ref(t, "verified/dev"); got != st.wantRef {
			t.Errorf("%s: the branch holds %.8s, want %.8s", st.name, got, st.wantRef)
		}
	}

	t.Run("without write access nothing moves", func(t *testing.T) {
		_, err := f.Publish(ctx, Publication{URL: repo.URL, Branch: "verified/dev", Revision: r3, From: "main",
			Creds: &Credentials{Username: "bot", Password: "wrong"}})
		if err == nil {
			t.Fatal("published with wrong credentials")
		}
	})
}

// Publishing over SSH pushes through a real git-receive-pack, with the
// identity and known_hosts of the Sync's Secret.
func TestPublishOverSSH(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "app")
	rev := repo.Commit(t, "R1", map[string]string{"a.yaml": "a: 1\n"})
	sshd := srv.ServeSSH(t)
	creds := &Credentials{Identity: sshd.Identity, KnownHosts: []byte(sshd.KnownHosts)}
	_, err := NewFetcher(Options{}).Publish(context.Background(), Publication{
		URL: sshd.URL("app"), Branch: "verified/dev", Revision: rev, From: "main", Creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	if got := repo.Ref(t, "verified/dev"); got != rev {
		t.Errorf("the branch published over SSH holds %.8s, want %.8s", got, rev)
	}
}
