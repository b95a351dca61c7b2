package testenv

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestGitServerServesCloneAndFetch(t *testing.T) {
	srv := StartGitServer(t)
	repo := srv.NewRepo(t, "app")
	first := repo.Commit(t, "first", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\n"})

	clone, err := git.PlainClone(t.TempDir(), false, &git.CloneOptions{URL: repo.URL, Depth: 1})
	if err != nil {
		t.Fatalf("go-git clone over HTTP: %v", err)
	}
	if head, _ := clone.Head(); head.Hash().String() != first {
		t.Fatalf("clone HEAD = %s, want %s", head.Hash(), first)
	}

	second := repo.Commit(t, "second", map[string]string{"deploy/cm.yaml": "kind: ConfigMap\ndata: {}\n"})
	if err := clone.Fetch(&git.FetchOptions{Depth: 1}); err != nil {
		t.Fatalf("go-git fetch over HTTP: %v", err)
	}
	ref, err := clone.Reference(plumbing.NewRemoteReferenceName("origin", "main"), true)
	if err != nil || ref.Hash().String() != second {
		t.Fatalf("origin/main after fetch = %v (%v), want %s", ref, err, second)
	}
}

func TestGitServerBasicAuth(t *testing.T) {
	srv := StartGitServer(t, WithBasicAuth("bot", "s3cret-token"))
	repo := srv.NewRepo(t, "private")
	want := repo.Commit(t, "init", map[string]string{"a.yaml": "a: 1\n"})

	tests := []struct {
		name    string
		auth    *githttp.BasicAuth
		wantErr error
	}{
		{"no credentials", nil, transport.ErrAuthenticationRequired},
		{"wrong password", &githttp.BasicAuth{Username: "bot", Password: "nope"}, transport.ErrAuthenticationRequired},
		{"right credentials", &githttp.BasicAuth{Username: "bot", Password: "s3cret-token"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &git.CloneOptions{URL: repo.URL}
			if tt.auth != nil {
				opts.Auth = tt.auth
			}
			r, err := git.Clone(memory.NewStorage(), nil, opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("clone error = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if head, _ := r.Head(); head.Hash().String() != want {
					t.Fatalf("HEAD = %s, want %s", head.Hash(), want)
				}
			}
		})
	}
}
