package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/go-hclog"
	aeadwrapper "github.com/hashicorp/go-kms-wrapping/wrappers/aead/v2"
	"github.com/hashicorp/vault/audit"
	"github.com/hashicorp/vault/builtin/plugin"
	"github.com/hashicorp/vault/command/server"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
	"github.com/hashicorp/vault/sdk/physical/file"
	"github.com/hashicorp/vault/sdk/physical/inmem"
	"github.com/hashicorp/vault/vault"
	vaultseal "github.com/hashicorp/vault/vault/seal"
)

// devServer is a running Vault: one core behind one listener, assembled the
// way upstream's `vault server` assembles it (command/server.go), minus
// everything a single test node does not use (HA, clustering, service
// registration, telemetry sinks, HCP). In dev mode its storage is in memory;
// with -config it is what the configuration's storage stanza names.
type devServer struct {
	core     *vault.Core
	listener net.Listener
	http     *http.Server
	addr     string
}

// startDevServer builds a dev-mode core, opens the listener and starts
// serving. The core is still sealed and uninitialised when it returns; see
// initDev.
func startDevServer(listenAddr string, logger hclog.Logger) (*devServer, error) {
	// The same configuration upstream dev mode parses: inmem storage, mlock
	// off, one TCP listener without TLS, raw endpoint enabled.
	config, err := server.DevConfig("inmem")
	if err != nil {
		return nil, fmt.Errorf("building dev configuration: %w", err)
	}
	lnConfig := config.Listeners[0]
	lnConfig.Address = listenAddr
	lnConfig.Telemetry.UnauthenticatedMetricsAccess = true

	storage, err := inmem.NewInmem(nil, logger.Named("storage.inmem"))
	if err != nil {
		return nil, fmt.Errorf("creating in-memory storage: %w", err)
	}
	return startServer(config, lnConfig, storage, true, logger)
}

// startConfigServer is `vault server -config FILE`: the storage and the
// listener the file names. The core comes up sealed; a new one is also
// uninitialised, and the client initialises it (sys/init) and unseals it
// (sys/unseal) through the API, as with upstream.
func startConfigServer(path string, logger hclog.Logger) (*devServer, error) {
	config, err := server.LoadConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if config.Storage == nil {
		return nil, fmt.Errorf("%s: no storage stanza (this build has storage \"file\" and \"inmem\")", path)
	}
	if len(config.Listeners) != 1 || config.Listeners[0].Type != configutil.TCP {
		return nil, fmt.Errorf("%s: want exactly one tcp listener, got %d", path, len(config.Listeners))
	}
	var storage physical.Backend
	switch t := config.Storage.Type; t {
	case "file":
		storage, err = file.NewFileBackend(config.Storage.Config, logger.Named("storage.file"))
	case "inmem":
		storage, err = inmem.NewInmem(config.Storage.Config, logger.Named("storage.inmem"))
	default:
		return nil, fmt.Errorf("%s: storage %q is not linked into this build (it has \"file\" and \"inmem\")", path, t)
	}
	if err != nil {
		return nil, fmt.Errorf("creating %s storage: %w", config.Storage.Type, err)
	}
	return startServer(config, config.Listeners[0], storage, false, logger)
}

// startServer builds the core on storage, opens the listener and starts
// serving; the core is sealed when it returns.
func startServer(config *server.Config, lnConfig *configutil.Listener, storage physical.Backend, dev bool, logger hclog.Logger) (*devServer, error) {
	listenAddr := lnConfig.Address

	// Neither dev mode nor the configurations this build reads have a seal
	// stanza, so upstream falls back to a single Shamir seal: enableDev, or
	// the client's sys/init, initialises it.
	sealAccess, err := vaultseal.NewAccessFromWrapper(logger.Named("seal.shamir"), aeadwrapper.NewShamirWrapper(), vault.SealConfigTypeShamir.String())
	if err != nil {
		return nil, fmt.Errorf("creating shamir seal: %w", err)
	}

	ln, _, _, err := server.NewListener(lnConfig, io.Discard, cli.NewMockUi())
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", listenAddr, err)
	}
	addr := "http://" + ln.Addr().String()

	core, err := vault.NewCore(&vault.CoreConfig{
		RawConfig:    config,
		Physical:     storage,
		StorageType:  config.Storage.Type,
		Seal:         vault.NewDefaultSeal(sealAccess),
		RedirectAddr: addr,
		Logger:       logger,
		AllLoggers:   []hclog.Logger{logger},
		DisableMlock: true,
		// The same backend maps upstream's server command hands to the core,
		// minus the socket/syslog audit devices and the database engine.
		AuditBackends:      map[string]audit.Factory{"file": audit.NewFileBackend},
		CredentialBackends: map[string]logical.Factory{"plugin": plugin.Factory},
		LogicalBackends:    map[string]logical.Factory{"plugin": plugin.Factory},
		BuiltinRegistry:    builtins,
		// Dev mode turns these on (createCoreConfig).
		EnableRaw:           dev,
		EnableIntrospection: dev,
	})
	if err != nil && vault.IsFatalError(err) {
		ln.Close()
		return nil, fmt.Errorf("creating core: %w", err)
	}
	if err != nil {
		logger.Warn("non-fatal error creating core", "error", err)
	}

	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: lnConfig,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          logger.StandardLogger(nil),
	}
	s := &devServer{core: core, listener: ln, http: srv, addr: addr}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
		}
	}()
	return s, nil
}

// shutdown stops accepting requests first, then seals and stops the core,
// in upstream's order.
func (s *devServer) shutdown(ctx context.Context) error {
	httpErr := s.http.Shutdown(ctx)
	if httpErr != nil {
		httpErr = fmt.Errorf("stopping http listener: %w", httpErr)
	}
	coreErr := s.core.Shutdown()
	if coreErr != nil {
		coreErr = fmt.Errorf("shutting down core: %w", coreErr)
	}
	return errors.Join(httpErr, coreErr)
}
