package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// A branch deleted from the server is a missing ref, said as such, also
// when it was the repository's only branch (go-git then calls the
// repository empty): the Sync keeps what it applied and says the branch is
// gone, and a promotion waits for it as for a branch never published.
func TestDeletedOnlyBranchIsAMissingRef(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "app")
	rev := repo.Commit(t, "first", map[string]string{"a.yaml": "a: 1\n"})
	repo.DeleteBranch(t, "main")
	ctx := context.Background()
	f := NewFetcher(Options{Timeout: 10 * time.Second})
	_, err := f.Revision(ctx, repo.URL, Ref{Branch: "main"}, nil, 0)
	var notFound *RefNotFoundError
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "has no branch main") {
		t.Errorf("Revision of the deleted only branch: err = %v, want a RefNotFoundError saying it has no branch main", err)
	}
	_, err = f.Fetch(ctx, repo.URL, Ref{Branch: "main"}, rev, nil)
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "has no branch main") {
		t.Errorf("Fetch of the deleted only branch: err = %v, want a RefNotFoundError saying it has no branch main", err)
	}
}

// A Git host slower than the timeout fails the operation with a message
// naming the flag that sets it.
func TestTimeoutNamesItsFlag(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	f := NewFetcher(Options{Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	for what, call := range map[string]func() error{
		"Revision": func() error { _, err := f.Revision(ctx, slow.URL+"/r.git", Ref{}, nil, 0); return err },
		"Fetch": func() error {
			_, err := f.Fetch(ctx, slow.URL+"/r.git", Ref{}, "0123456789012345678901234567890123456789", nil)
			return err
		},
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "--git-timeout") || !strings.Contains(err.Error(), slow.URL+"/r.git") ||
			!errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s against a server that never answers: err = %v, want the URL, --git-timeout and a deadline", what, err)
		}
	}
	// The caller's own deadline is not the flag's.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	f = NewFetcher(Options{Timeout: time.Minute})
	if _, err := f.Revision(short, slow.URL+"/r.git", Ref{}, nil, 0); err == nil || strings.Contains(err.Error(), "--git-timeout") {
		t.Errorf("caller's deadline: err = %v, want one not blaming --git-timeout", err)
	}
}
