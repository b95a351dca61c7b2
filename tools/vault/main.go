// Command vault is a Vault server built from Vault's own core
// (github.com/hashicorp/vault v1.21.0: the vault and http packages) with only
// the plugins Latchkey's tests use compiled in: KV, AppRole, Kubernetes auth,
// the file audit device, and the file and in-memory storage backends. By
// default it behaves like `vault server -dev`: in-memory storage, initialised
// and unsealed at start, KV v2 mounted at secret/, plain HTTP on the listen
// address, and it accepts upstream's flag names. `vault server -config FILE`
// runs a durable server as upstream does: the storage and listener of the
// (HCL) file, sealed at start, initialised and unsealed by the client through
// the API (sys/init, sys/unseal); what a test restarting or sealing Vault
// under a running controller needs.
// Deliberate differences, for parallel tests: it does not write the root
// token to ~/.vault-token, it binds no cluster port (upstream takes the API
// port + 1; a single non-HA node never uses it), and the listen port may be 0,
// in which case the ready line reports the port the kernel chose.
//
// Upstream's own main (command.Run) links every builtin plugin and storage
// backend; this one links the same core with a small registry, so it builds
// in a fraction of the time and size while serving the real Vault API.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// Accept `vault server -dev ...` as well as bare flags, so command lines
	// written for upstream Vault work unchanged.
	if len(args) > 0 && args[0] == "server" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("vault server", flag.ContinueOnError)
	dev := fs.Bool("dev", true, "run in dev mode (ignored with -config)")
	configPath := fs.String("config", "", "run the server this HCL file describes (storage \"file\" or \"inmem\", one tcp listener) instead of dev mode")
	listenAddr := fs.String("dev-listen-address", envOr("VAULT_DEV_LISTEN_ADDRESS", "127.0.0.1:8200"),
		"address the dev server listens on (plain HTTP); port 0 picks a free port")
	rootTokenID := fs.String("dev-root-token-id", os.Getenv("VAULT_DEV_ROOT_TOKEN_ID"),
		"root token to create instead of a random one")
	logLevel := fs.String("log-level", "info", "log level: trace, debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !*dev && *configPath == "" {
		fmt.Fprintln(os.Stderr, "this Vault build runs in dev mode or with -config FILE; drop -dev=false or add -config")
		return 2
	}

	level := hclog.LevelFromString(*logLevel)
	if level == hclog.NoLevel {
		fmt.Fprintf(os.Stderr, "unknown log level %q\n", *logLevel)
		return 2
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: level, Output: os.Stderr})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *configPath != "" {
		return runConfigServer(ctx, *configPath, logger)
	}

	srv, err := startDevServer(*listenAddr, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting Vault dev server: %v\n", err)
		return 1
	}
	rootToken, err := initDev(srv.core, *rootTokenID)
	if err != nil {
		fmt.Fprintf(os.Stderr, "initialising Vault dev server: %v\n", err)
		shutdown(srv, logger)
		return 1
	}

	// The caller already knows a token it chose; only a generated one is
	// printed, as upstream dev mode does.
	if *rootTokenID == "" {
		fmt.Printf("Root Token: %s\n", rootToken)
	}
	fmt.Printf("==> Vault dev server ready: version=%s addr=%s\n", version.GetVersion().VersionNumber(), srv.addr)

	<-ctx.Done()
	fmt.Println("==> Vault shutdown triggered")
	if err := shutdown(srv, logger); err != nil {
		return 1
	}
	return 0
}

// runConfigServer serves until ctx ends. The ready line comes as soon as the
// listener is open: the core is sealed (and, the first time, uninitialised)
// until the client unseals it.
func runConfigServer(ctx context.Context, path string, logger hclog.Logger) int {
	srv, err := startConfigServer(path, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting Vault server: %v\n", err)
		return 1
	}
	fmt.Printf("==> Vault server ready: version=%s addr=%s sealed=true\n", version.GetVersion().VersionNumber(), srv.addr)
	<-ctx.Done()
	fmt.Println("==> Vault shutdown triggered")
	if err := shutdown(srv, logger); err != nil {
		return 1
	}
	return 0
}

func shutdown(srv *devServer, logger hclog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.shutdown(ctx)
	if err != nil {
		logger.Error("shutdown", "error", err)
	}
	return err
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
