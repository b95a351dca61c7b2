package source

import (
	"fmt"

	"github.com/latchkey-dev/latchkey/config"
)

// Default bounds of a Fetcher. A Sync's repository is written by a tenant,
// and go-git clones into memory: without bounds one repository could take the
// controller, and every other Sync with it, past its memory limit. The
// defaults fit the chart's 512 MiB memory limit: the snapshot cache (128 MiB)
// plus one clone at its worst (64 MiB of pack, 128 MiB of inflated objects
// and the revision's files copied out of them) leaves room for the rest of
// the controller; configuration repositories are a few MiB.
const (
	// DefaultMaxFetchBytes bounds what one fetch receives from the Git host
	// (the ref advertisement, the pack, progress messages).
	DefaultMaxFetchBytes = 64 << 20
	// DefaultMaxFileBytes bounds one object once inflated: no manifest, chart
	// or values file needs 16 MiB (the API server takes 1.5 MiB per object).
	DefaultMaxFileBytes = 16 << 20
	// DefaultMaxBytes bounds the objects of one fetch once inflated, and so
	// the content of one revision.
	DefaultMaxBytes = 128 << 20
	// DefaultCacheBytes bounds the snapshots kept in memory, together.
	DefaultCacheBytes = 128 << 20
)

// LimitError is a fetch stopped by one of the Fetcher's bounds. It is
// returned before the data over the bound is held in memory.
type LimitError struct {
	// What exceeded the limit, e.g. "a blob of https://host/repo.git".
	What string
	// Limit is the bound in bytes; Flag the controller flag that sets it.
	Limit int64
	Flag  string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit of %s: the fetch was stopped before holding it in memory (remove the content from the repository, or raise %s if the repository is meant to be this large)",
		e.What, config.ByteSize(e.Limit), e.Flag)
}

// Flags that set the bounds, named in LimitError so that the message says how
// to raise them (cmd/latchkey wires them into Options).
const (
	flagMaxFetchBytes = "--git-max-fetch-bytes"
	flagMaxFileBytes  = "--git-max-file-bytes"
	flagMaxBytes      = "--git-max-revision-bytes"
	flagTimeout       = "--git-timeout"
)
