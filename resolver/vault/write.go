package vault

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/latchkey-dev/latchkey/resolver"
)

// KeyState is what a KV v2 secret holds under one key, compared with a value
// a migration wants to store there.
type KeyState int

const (
	// KeyAbsent: the secret or the key does not exist yet.
	KeyAbsent KeyState = iota
	// KeyEqual: the key holds exactly that value already.
	KeyEqual
	// KeyDifferent: the key holds another value, which is never overwritten.
	KeyDifferent
)

func (s KeyState) String() string {
	switch s {
	case KeyEqual:
		return "equal"
	case KeyDifferent:
		return "different"
	}
	return "absent"
}

// ErrKeyConflict is a write refused because the key exists with another
// value (or changed under us between the read and the check-and-set write).
var ErrKeyConflict = errors.New("the key exists in Vault with a different value")

// CheckKey reads the current state of path#key against value without
// writing. The value is compared in constant time and never returned.
func (b *Backend) CheckKey(ctx context.Context, path, key, value string) (KeyState, error) {
	loc, err := b.kv2(ctx, path)
	if err != nil {
		return 0, err
	}
	st, _, _, err := b.keyState(ctx, loc, key, value)
	return st, err
}

// PutKey stores value under key of the KV v2 secret at path, keeping the
// secret's other keys, with check-and-set: a key that already holds another
// value is never overwritten (ErrKeyConflict), an equal one is left alone
// (no new version). The write is a JSON merge patch with cas set to the
// version read, or a create with cas=0 when the secret does not exist, so a
// concurrent writer makes it fail instead of being lost.
func (b *Backend) PutKey(ctx context.Context, path, key, value string) (KeyState, error) {
	loc, err := b.kv2(ctx, path)
	if err != nil {
		return 0, err
	}
	st, version, exists, err := b.keyState(ctx, loc, key, value)
	if err != nil || st != KeyAbsent {
		if st == KeyDifferent {
			err = fmt.Errorf("%s%s#%s: %w; choose another --vault-path or remove the key in Vault", loc.Mount, loc.Path, key, ErrKeyConflict)
		}
		return st, err
	}
	apiPath := loc.Mount + "data/" + loc.Path
	body := map[string]any{"data": map[string]any{key: value}, "options": map[string]any{"cas": version}}
	what := "writing " + apiPath + "#" + key
	_, err = b.call(ctx, func(ctx context.Context) (*api.Secret, error) {
		if exists {
			return b.client.Logical().JSONMergePatch(ctx, apiPath, body)
		}
		return b.client.Logical().WriteWithContext(ctx, apiPath, body)
	})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == 400 && strings.Contains(strings.Join(re.Errors, " "), "check-and-set") {
			return KeyAbsent, fmt.Errorf("%s: %w (the secret changed while writing; run again)", what, ErrKeyConflict)
		}
		return KeyAbsent, classify(what, err)
	}
	return KeyAbsent, nil
}

// kv2 locates path and refuses anything but KV v2, whose versions make
// check-and-set possible.
func (b *Backend) kv2(ctx context.Context, path string) (resolver.Location, error) {
	loc, err := b.Locate(ctx, path, 2)
	if err != nil {
		return loc, err
	}
	if loc.KVVersion != 2 {
		return loc, fmt.Errorf("%s is on KV v%d: migrations write to KV v2 only (check-and-set needs versions); choose a --vault-path on a KV v2 mount", path, loc.KVVersion)
	}
	return loc, nil
}

// keyState reads the secret's latest version: the key's state, the version
// to check-and-set against, and whether the secret exists (a deleted latest
// version counts as existing, for cas).
func (b *Backend) keyState(ctx context.Context, loc resolver.Location, key, value string) (KeyState, int, bool, error) {
	sec, err := b.read(ctx, loc, "")
	switch {
	case errors.Is(err, resolver.ErrNotFound):
		return KeyAbsent, 0, false, nil
	case errors.Is(err, resolver.ErrDeleted):
		return KeyAbsent, 0, true, fmt.Errorf("%s%s: the latest version is deleted; undelete or destroy it in Vault first", loc.Mount, loc.Path)
	case err != nil:
		return 0, 0, false, err
	}
	cur, ok := sec.Data[key]
	if !ok {
		return KeyAbsent, sec.Version, true, nil
	}
	s, isString := cur.(string)
	if isString && subtle.ConstantTimeCompare([]byte(s), []byte(value)) == 1 {
		return KeyEqual, sec.Version, true, nil
	}
	return KeyDifferent, sec.Version, true, nil
}
