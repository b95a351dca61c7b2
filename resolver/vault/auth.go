package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/resolver"
)

// session holds the Vault token and keeps it valid: it logs in on first
// use, renews the token when a third of its TTL is left, logs in again when
// renewal is impossible or when Vault answers 403 to a token it issued
// (expired or revoked), and serialises all of that.
type session struct {
	cfg    config.VaultAuth
	client *api.Client
	now    func() time.Time
	// jwt, when set, gives the ServiceAccount token Kubernetes auth presents,
	// instead of the file cfg.TokenPath names.
	jwt TokenSource

	mu        sync.Mutex
	ready     bool
	gen       int       // incremented at each login, so a 403 invalidates only the token it was seen with
	expires   time.Time // zero: the token does not expire (root, or unknown)
	ttl       time.Duration
	renewable bool
}

func newSession(cfg config.VaultAuth, client *api.Client) *session {
	return &session{cfg: cfg, client: client, now: time.Now}
}

// canRelogin reports whether a 403 may be cured by logging in again: a
// static token cannot be replaced.
func (s *session) canRelogin() bool { return s.cfg.Method != config.VaultAuthToken }

// token makes sure the client holds a valid token and returns its
// generation.
func (s *session) token(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		if err := s.login(ctx); err != nil {
			return 0, err
		}
		return s.gen, nil
	}
	if s.expires.IsZero() || s.expires.Sub(s.now()) > s.ttl/3 {
		return s.gen, nil
	}
	if s.renewable {
		if err := s.renew(ctx); err == nil {
			return s.gen, nil
		}
	}
	if !s.canRelogin() {
		return s.gen, nil // the token may still work until it expires; Vault will say if not
	}
	if err := s.login(ctx); err != nil {
		return 0, err
	}
	return s.gen, nil
}

// invalidate forgets the token of generation gen after Vault refused it.
func (s *session) invalidate(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen && s.canRelogin() {
		s.ready = false
	}
}

// login must be called with mu held.
func (s *session) login(ctx context.Context) error {
	if s.cfg.Method == config.VaultAuthToken {
		s.client.SetToken(string(s.cfg.Token))
		// Learn the token's TTL, to renew it in time; a root token has none.
		sec, err := s.client.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			return fmt.Errorf("%w: looking up the Vault token (token auth): %w", resolver.ErrAuth, classify("token lookup-self", err))
		}
		ttl, _ := sec.TokenTTL()
		renewable, _ := sec.TokenIsRenewable()
		s.set(ttl, renewable)
		return nil
	}

	method, err := s.method(ctx)
	if err != nil {
		return err
	}
	// Log in on a clone without the old token: the request must not depend
	// on the token being replaced.
	lc, err := s.client.CloneWithHeaders()
	if err != nil {
		return fmt.Errorf("%w: preparing the Vault login: %v", resolver.ErrAuth, err)
	}
	lc.ClearToken()
	sec, err := method.Login(ctx, lc)
	if err != nil {
		return fmt.Errorf("%w: logging in to Vault with %s auth at auth/%s: %w", resolver.ErrAuth, s.cfg.Method, s.cfg.MountPath, classify("login", unwrapLogin(err)))
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return fmt.Errorf("%w: Vault returned no token for the %s login at auth/%s", resolver.ErrAuth, s.cfg.Method, s.cfg.MountPath)
	}
	s.client.SetToken(sec.Auth.ClientToken)
	s.set(time.Duration(sec.Auth.LeaseDuration)*time.Second, sec.Auth.Renewable)
	return nil
}

func (s *session) set(ttl time.Duration, renewable bool) {
	s.ready = true
	s.gen++
	s.ttl, s.renewable = ttl, renewable
	s.expires = time.Time{}
	if ttl > 0 {
		s.expires = s.now().Add(ttl)
	}
}

// renew must be called with mu held.
func (s *session) renew(ctx context.Context) error {
	sec, err := s.client.Auth().Token().RenewSelfWithContext(ctx, int(s.ttl.Seconds()))
	if err != nil {
		return classify("token renew-self", err)
	}
	if sec == nil || sec.Auth == nil {
		return errors.New("token renew-self: empty response")
	}
	ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
	s.expires = s.now().Add(ttl)
	s.renewable = sec.Auth.Renewable
	// A token at its max TTL renews for less than asked: keep the original
	// TTL as the reference, so the next renewal (or login) comes in time.
	return nil
}

func (s *session) method(ctx context.Context) (api.AuthMethod, error) {
	switch s.cfg.Method {
	case config.VaultAuthAppRole:
		m, err := approle.NewAppRoleAuth(s.cfg.RoleID, &approle.SecretID{FromString: string(s.cfg.SecretID)}, approle.WithMountPath(s.cfg.MountPath))
		if err != nil {
			return nil, fmt.Errorf("%w: AppRole auth: %v", resolver.ErrAuth, err)
		}
		return m, nil
	case config.VaultAuthKubernetes:
		if s.jwt != nil {
			// Asked for at every login: the token is short-lived, and a login
			// after the Vault token expired needs a fresh one.
			jwt, err := s.jwt(ctx)
			if err != nil {
				return nil, fmt.Errorf("%w: getting the ServiceAccount token for Kubernetes auth: %w", resolver.ErrAuth, err)
			}
			m, err := kubernetes.NewKubernetesAuth(s.cfg.Role,
				kubernetes.WithServiceAccountToken(jwt), kubernetes.WithMountPath(s.cfg.MountPath))
			if err != nil {
				return nil, fmt.Errorf("%w: Kubernetes auth: %v", resolver.ErrAuth, err)
			}
			return m, nil
		}
		// Built at every login: the projected ServiceAccount token rotates,
		// and the package reads the file when the method is built.
		m, err := kubernetes.NewKubernetesAuth(s.cfg.Role,
			kubernetes.WithServiceAccountTokenPath(s.cfg.TokenPath), kubernetes.WithMountPath(s.cfg.MountPath))
		if err != nil {
			return nil, fmt.Errorf("%w: Kubernetes auth with the ServiceAccount token %s: %v", resolver.ErrAuth, s.cfg.TokenPath, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: unsupported auth method %q", resolver.ErrAuth, s.cfg.Method)
}

// TokenSource returns a ServiceAccount token (a JWT) for Kubernetes auth.
// It is called at each login, never cached by the session, and its token is
// never written anywhere.
type TokenSource func(ctx context.Context) (string, error)

// Option configures a Backend.
type Option func(*session)

// WithTokenSource makes Kubernetes auth log in with the tokens src returns
// (a Sync's ServiceAccount, from the TokenRequest API) instead of reading
// cfg.Auth.TokenPath.
func WithTokenSource(src TokenSource) Option {
	return func(s *session) { s.jwt = src }
}

// unwrapLogin strips the auth packages' "unable to log in" prefix, keeping
// the API error it wraps.
func unwrapLogin(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return err
}
