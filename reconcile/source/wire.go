package source

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// go-git picks its HTTP transport from a process-wide table by URL scheme, so
// the meter is installed there once; it counts only requests whose context
// carries a wireBudget (the Fetcher's), others pass through untouched.
//
// go-git refuses a wrapped transport when an endpoint asks for a CA bundle,
// a client certificate, InsecureSkipTLS or a proxy (it needs an
// *http.Transport to configure). The Fetcher sets none of these; whoever
// adds one must meter that transport instead.
func init() {
	metered := githttp.NewClient(&http.Client{Transport: meteredTransport{base: http.DefaultTransport}})
	client.InstallProtocol("http", metered)
	client.InstallProtocol("https", metered)
}

// wireBudget is what one fetch (or ref listing) may receive over HTTP: the
// ref advertisement, the pack and progress messages, all requests together.
type wireBudget struct {
	limit int64
	used  atomic.Int64
	what  string // the repository, for the error
}

type wireBudgetKey struct{}

func withWireBudget(ctx context.Context, limit int64, what string) context.Context {
	return context.WithValue(ctx, wireBudgetKey{}, &wireBudget{limit: limit, what: what})
}

type meteredTransport struct{ base http.RoundTripper }

func (t meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if b, ok := req.Context().Value(wireBudgetKey{}).(*wireBudget); ok {
		resp.Body = &meteredBody{ReadCloser: resp.Body, budget: b}
	}
	return resp, nil
}

// meteredBody fails the read that takes its budget past the limit; what was
// read before stays with go-git, which stops at the error.
type meteredBody struct {
	io.ReadCloser
	budget *wireBudget
}

func (m *meteredBody) Read(p []byte) (int, error) {
	n, err := m.ReadCloser.Read(p)
	if m.budget.used.Add(int64(n)) > m.budget.limit {
		return 0, &LimitError{What: "the data received from " + m.budget.what, Limit: m.budget.limit, Flag: flagMaxFetchBytes}
	}
	return n, err
}
