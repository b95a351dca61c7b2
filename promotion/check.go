package promotion

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"

	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// Reason says why a reference counts as missing.
type Reason string

const (
	// KeyMissing: the secret exists but has no such key.
	KeyMissing Reason = "key missing"
	// SecretMissing: there is no secret at the path.
	SecretMissing Reason = "secret missing"
	// VersionMissing: the pinned version does not exist, or was deleted
	// or destroyed.
	VersionMissing Reason = "pinned version missing"
)

// Missing is one reference whose key does not exist in the backend.
type Missing struct {
	// File and Line are where the object holding the reference was
	// rendered from: the file relative to the rendered directory's parent
	// as render.Result.Origin names it, and the line its YAML document
	// starts on (0 when unknown: a Helm template or a Kustomize output).
	File string
	Line int
	// Ref is the secret field the reference reads, "path#key", with the
	// path as the manifest writes it ("secret/data/shop/db#password").
	Ref string
	// Object names the object ("Secret shop/db") and Field where in it the
	// reference sits ("stringData.password").
	Object string
	Field  string
	// Location is the secret in the backend (mount, path in it, KV
	// version); Key the key; Version the pinned version, "" for latest.
	Location resolver.Location
	Key      string
	Version  string
	Reason   Reason
}

// String is the line CI prints: "apps/db.yaml:3: secret/data/db#password:
// key missing (Secret shop/db, stringData.password)".
func (m Missing) String() string {
	where := m.File
	if m.Line > 0 {
		where = fmt.Sprintf("%s:%d", m.File, m.Line)
	}
	s := fmt.Sprintf("%s: %s: %s", where, m.Ref, m.Reason)
	if m.Version != "" {
		s += " (version " + m.Version + ")"
	}
	return s + fmt.Sprintf(" (%s, %s)", m.Object, m.Field)
}

// Verified is one secret the check found every referenced key of, at the
// version it read: what a promotion records as "secret versions verified".
type Verified struct {
	Location resolver.Location
	// Version is the KV v2 version read (0 on KV v1).
	Version int
}

// Report is the outcome of a check.
type Report struct {
	// Missing lists every missing key, ordered by file, line, reference
	// and field; a reference is listed once per object field.
	Missing []Missing
	// Verified lists the secrets whose referenced keys all exist, ordered
	// by location.
	Verified []Verified
	// References is how many references the rendered objects hold.
	References int
}

// Check verifies that every reference of result exists in backend and
// returns each missing key. It reads secrets into memory only to see their
// keys (Vault's metadata does not list them) and drops them.
//
// A reference whose presence cannot be established (Vault unreachable,
// login refused, access denied, a malformed reference) is not missing: it
// makes the error an *Error, which lists each such reference and matches
// resolver.ErrUnavailable, ErrAuth, ErrPermissionDenied or
// ErrInvalidReference with errors.Is. The missing keys found alongside are
// still returned.
func Check(ctx context.Context, result *render.Result, backend resolver.Backend) ([]Missing, error) {
	rep, err := CheckWith(ctx, result, resolver.New(backend, resolver.Options{}))
	return rep.Missing, err
}

// CheckWith is Check with a resolver configured by the caller (the KV
// version hint, the path validation pattern, concurrency: the controller's
// per-Sync resolver, or the CLI's from VAULT_*/AVP_*). A resolver with a
// cache may answer from it: a key written since stays missing until the
// cached version expires.
func CheckWith(ctx context.Context, result *render.Result, r *resolver.Resolver) (Report, error) {
	pres, err := r.Presence(ctx, result.Objects, result.Origin)
	var unchecked []Unchecked
	var invalid *resolver.Error
	switch {
	case errors.As(err, &invalid):
		for _, f := range invalid.Failures {
			unchecked = append(unchecked, Unchecked{Object: f.Object.String(), Field: f.Field, Ref: f.Ref,
				Problem: f.Problem, Fix: f.Fix, Err: ErrInvalidReference})
		}
	case err != nil:
		return Report{}, err
	}

	rep := Report{References: len(pres)}
	seen := map[string]bool{}
	ok := map[resolver.Location]int{}   // secret → version read
	bad := map[resolver.Location]bool{} // secrets with a missing key
	for _, p := range pres {
		file, line := origin(result, p.Index)
		p.Object.Origin = "" // File and Line say it
		switch {
		case p.Err == nil:
			ok[p.Location] = p.Found
		case p.Optional && errors.Is(p.Err, resolver.ErrMissingKey):
			// remove-missing drops the field: not a reason to hold back.
			ok[p.Location] = p.Found
		case p.Missing():
			bad[p.Location] = true
			m := Missing{File: file, Line: line, Ref: p.Path + "#" + p.Key, Object: p.Object.String(), Field: p.Field,
				Location: p.Location, Key: p.Key, Version: p.Version, Reason: reason(p)}
			k := fmt.Sprint(m.File, "\x00", m.Line, "\x00", m.Object, "\x00", m.Field, "\x00", m.Ref)
			if !seen[k] {
				seen[k] = true
				rep.Missing = append(rep.Missing, m)
			}
		default:
			unchecked = append(unchecked, Unchecked{File: file, Line: line, Ref: p.Reference, Object: p.Object.String(),
				Field: p.Field, Problem: p.Err.Error(), Err: p.Err})
		}
	}
	sort.SliceStable(rep.Missing, func(a, b int) bool {
		x, y := rep.Missing[a], rep.Missing[b]
		if x.File != y.File {
			return x.File < y.File
		}
		if x.Line != y.Line {
			return x.Line < y.Line
		}
		if x.Ref != y.Ref {
			return x.Ref < y.Ref
		}
		return x.Field < y.Field
	})
	for loc, v := range ok {
		if !bad[loc] {
			rep.Verified = append(rep.Verified, Verified{Location: loc, Version: v})
		}
	}
	sort.Slice(rep.Verified, func(a, b int) bool { return rep.Verified[a].Location.String() < rep.Verified[b].Location.String() })
	if len(unchecked) > 0 {
		return rep, &Error{Unchecked: unchecked}
	}
	return rep, nil
}

func reason(p resolver.Presence) Reason {
	switch {
	case errors.Is(p.Err, resolver.ErrMissingKey):
		return KeyMissing
	case p.Version != "" || errors.Is(p.Err, resolver.ErrDeleted):
		return VersionMissing
	}
	return SecretMissing
}

// origin splits where object i came from into file and line, the file
// prefixed with the rendered directory as render.Result.Origin does.
func origin(r *render.Result, i int) (string, int) {
	if i < 0 || i >= len(r.Sources) {
		return r.Dir, 0
	}
	s := r.Sources[i]
	if s.File == "" {
		return r.Dir, 0
	}
	file := s.File
	if r.Dir != "" && r.Dir != "." && s.File != "<stdin>" {
		file = path.Join(filepath.ToSlash(r.Dir), s.File)
	}
	return file, s.Line
}
