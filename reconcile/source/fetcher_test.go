package source

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

func readAll(t *testing.T, s *Snapshot, dir string) map[string]string {
	t.Helper()
	fsys, err := s.Sub(dir)
	if err != nil {
		t.Fatalf("Sub(%q): %v", dir, err)
	}
	out := map[string]string{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("walking %q: %v", dir, err)
	}
	return out
}

func TestFetchRefs(t *testing.T) {
	srv := testenv.StartGitServer(t, testenv.WithBasicAuth("bot", "hunter2"))
	repo := srv.NewRepo(t, "app")
	first := repo.Commit(t, "first", map[string]string{"apps/a.yaml": "a: 1\n", "README.md": "hi\n"})
	repo.Tag(t, "v1")
	second := repo.Commit(t, "second", map[string]string{"apps/a.yaml": "a: 2\n", "apps/sub/b.yaml": "b: 1\n"})
	creds := &Credentials{Username: "bot", Password: "hunter2"}

	tests := []struct {
		name    string
		ref     Ref
		creds   *Credentials
		wantRev string
		want    map[string]string // files under apps/
		wantErr string
	}{
		{name: "branch tip", ref: Ref{Branch: "main"}, creds: creds, wantRev: second,
			want: map[string]string{"a.yaml": "a: 2\n", "sub/b.yaml": "b: 1\n"}},
		{name: "default branch is main", creds: creds, wantRev: second,
			want: map[string]string{"a.yaml": "a: 2\n", "sub/b.yaml": "b: 1\n"}},
		{name: "tag", ref: Ref{Tag: "v1"}, creds: creds, wantRev: first, want: map[string]string{"a.yaml": "a: 1\n"}},
		{name: "pinned older commit", ref: Ref{Commit: first}, creds: creds, wantRev: first, want: map[string]string{"a.yaml": "a: 1\n"}},
		{name: "missing branch", ref: Ref{Branch: "nope"}, creds: creds, wantErr: "has no branch nope"},
		{name: "wrong password", creds: &Credentials{Username: "bot", Password: "wrong"}, wantErr: "authentication"},
		{name: "no credentials", wantErr: "authentication"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFetcher(Options{Timeout: 30 * time.Second})
			ctx := context.Background()
			rev, err := f.Revision(ctx, repo.URL, tc.ref, tc.creds, 0)
			if err == nil {
				var s *Snapshot
				s, err = f.Fetch(ctx, repo.URL, tc.ref, rev, tc.creds)
				if err == nil {
					if s.Revision != tc.wantRev {
						t.Errorf("revision = %s, want %s", s.Revision, tc.wantRev)
					}
					got := readAll(t, s, "apps")
					if len(got) != len(tc.want) {
						t.Errorf("files = %v, want %v", got, tc.want)
					}
					for k, v := range tc.want {
						if got[k] != v {
							t.Errorf("%s = %q, want %q", k, got[k], v)
						}
					}
				}
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRevisionIsReusedWithinMaxAgeAndForgotten(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "app")
	first := repo.Commit(t, "first", map[string]string{"a.yaml": "a: 1\n"})
	f := NewFetcher(Options{})
	ctx := context.Background()

	if rev, err := f.Revision(ctx, repo.URL, Ref{}, nil, time.Hour); err != nil || rev != first {
		t.Fatalf("Revision = %s, %v; want %s", rev, err, first)
	}
	second := repo.Commit(t, "second", map[string]string{"a.yaml": "a: 2\n"})
	if rev, _ := f.Revision(ctx, repo.URL, Ref{}, nil, time.Hour); rev != first {
		t.Errorf("within maxAge: Revision = %s, want the cached %s", rev, first)
	}
	f.Forget(repo.URL)
	if rev, _ := f.Revision(ctx, repo.URL, Ref{}, nil, time.Hour); rev != second {
		t.Errorf("after Forget: Revision = %s, want %s", rev, second)
	}
	// A snapshot fetched anonymously is not served to other credentials.
	a, err := f.Fetch(ctx, repo.URL, Ref{}, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Fetch(ctx, repo.URL, Ref{}, second, &Credentials{Username: "x", Password: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("the snapshot cache shares content across different credentials")
	}
	if c, _ := f.Fetch(ctx, repo.URL, Ref{}, second, nil); c != a {
		t.Error("the same revision was cloned twice")
	}
}

func TestKnownHostsRequiredForSSH(t *testing.T) {
	_, err := (&Credentials{Identity: []byte("key")}).method("ssh")
	if err == nil || !strings.Contains(err.Error(), "known_hosts") {
		t.Fatalf("err = %v, want a refusal naming known_hosts", err)
	}
	if _, err := authFor("https://user:pw@example.invalid/r.git", nil); err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("credentials in URL: err = %v, want a refusal that does not echo them", err)
	}
}

// ssh://git@host/repo is how Git hosts write SSH URLs: the user is the
// login, not a credential; a password in any URL, or any user in an HTTP
// URL, is refused.
func TestURLUserIsTheSSHLogin(t *testing.T) {
	creds := &Credentials{Identity: sshIdentity(t), KnownHosts: []byte("example.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE\n")}
	tests := []struct {
		url      string
		wantUser string
		wantErr  bool
	}{
		{url: "ssh://git@example.invalid/r.git", wantUser: "git"},
		{url: "ssh://deploy@example.invalid/r.git", wantUser: "deploy"},
		{url: "ssh://example.invalid/r.git", wantUser: "git"},
		{url: "ssh://git:pw@example.invalid/r.git", wantErr: true},
		{url: "https://token@example.invalid/r.git", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			auth, err := authFor(tc.url, creds)
			if tc.wantErr {
				if err == nil || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "token") {
					t.Fatalf("err = %v, want a refusal that does not echo the credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := auth.(*gitssh.PublicKeys).User; got != tc.wantUser {
				t.Errorf("SSH user = %q, want %q", got, tc.wantUser)
			}
		})
	}
	if creds.Username != "" {
		t.Error("authFor changed the caller's credentials")
	}
}

func sshIdentity(t *testing.T) []byte {
	t.Helper()
	identity, _, err := components.NewSSHIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return identity
}

// Over SSH the Fetcher lists refs and fetches from a real git-upload-pack,
// verifying the host against known_hosts: a host key known_hosts does not
// hold is refused.
func TestFetchOverSSH(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "app")
	rev := repo.Commit(t, "first", map[string]string{"apps/a.yaml": "a: 1\n"})
	sshd := srv.ServeSSH(t)
	ctx := context.Background()

	f := NewFetcher(Options{Timeout: 30 * time.Second})
	creds := &Credentials{Identity: sshd.Identity, KnownHosts: []byte(sshd.KnownHosts)}
	got, err := f.Revision(ctx, sshd.URL("app"), Ref{}, creds, 0)
	if err != nil || got != rev {
		t.Fatalf("Revision over SSH = %s, %v; want %s", got, err, rev)
	}
	s, err := f.Fetch(ctx, sshd.URL("app"), Ref{}, rev, creds)
	if err != nil {
		t.Fatal(err)
	}
	if files := readAll(t, s, "apps"); files["a.yaml"] != "a: 1\n" {
		t.Errorf("files over SSH = %v", files)
	}

	other := &Credentials{Identity: sshd.Identity, KnownHosts: []byte(strings.Fields(sshd.KnownHosts)[0] +
		" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE\n")}
	if _, err := NewFetcher(Options{}).Revision(ctx, sshd.URL("app"), Ref{}, other, 0); err == nil ||
		!strings.Contains(err.Error(), "not in known_hosts") {
		t.Errorf("a host key known_hosts does not hold: err = %v, want a refusal", err)
	}
}
