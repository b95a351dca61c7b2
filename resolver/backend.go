package resolver

import (
	"context"
	"errors"
	"fmt"
)

// Backend reads secrets. The Vault backend (package resolver/vault) is the
// production implementation; a Backend must be safe for concurrent use.
type Backend interface {
	// Locate maps a path as written in a reference (for KV v2 with or without
	// the "data/" segment) to the mount it lives on. kvVersion is the caller's
	// hint (1 or 2, from an annotation or configuration; 0 for none); a backend
	// that can see the mount table reports the mount's real version and sets
	// Location.Detected.
	Locate(ctx context.Context, path string, kvVersion int) (Location, error)
	// Read reads one secret. version is "" for the latest version, or a
	// decimal version number (ignored on KV v1, which keeps no versions).
	Read(ctx context.Context, loc Location, version string) (*Secret, error)
}

// VersionReader is implemented by backends that can report the current
// version of secrets without reading their values (KV v2 metadata). The
// controller polls it to notice rotated secrets that manifests do not pin.
type VersionReader interface {
	CurrentVersions(ctx context.Context, locs []Location) (map[Location]int, error)
}

// Location names one secret: the mount it is on, its path inside the mount,
// and the KV version of the mount. It is comparable and used as a cache key.
type Location struct {
	Mount     string // "secret/" (with the trailing slash, as Vault lists mounts)
	Path      string // path inside the mount, without "data/": "app/db"
	KVVersion int    // 1 or 2
	// Detected is true when the KV version was read from the mount table, not
	// taken from a hint.
	Detected bool
}

func (l Location) String() string {
	return fmt.Sprintf("%s%s (KV v%d)", l.Mount, l.Path, l.KVVersion)
}

// Key is l without Detected, which says how the location was found, not
// what it is: the form to compare and to use as a map key.
func (l Location) Key() Location {
	l.Detected = false
	return l
}

// Secret is the content of one secret version.
type Secret struct {
	Location Location
	// Version is the KV v2 version that was read; 0 on KV v1.
	Version int
	// Data holds the fields as Vault returned them: strings, json.Number,
	// bools, maps and slices. It must be treated as read-only: it may be shared
	// through the Cache.
	Data map[string]any
}

// The classes of backend failure. Backends wrap them (with %w) so the
// resolver can say how to fix the problem; messages never carry values.
var (
	// ErrNotFound: no secret at the path, or not at the requested version.
	ErrNotFound = errors.New("not found")
	// ErrPermissionDenied: the backend refused the read with the credentials in use.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrDeleted: the requested KV v2 version was deleted or destroyed.
	ErrDeleted = errors.New("version deleted or destroyed")
	// ErrUnavailable: the backend could not be reached or could not serve
	// (network failure, timeout, sealed Vault, repeated 5xx or 429).
	ErrUnavailable = errors.New("backend unavailable")
	// ErrAuth: logging in to the backend failed.
	ErrAuth = errors.New("authentication failed")
)
