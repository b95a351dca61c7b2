// Command latchkey-scan is the secret scanner alone: `latchkey scan` without
// the controller. It builds from the scanner packages and cobra only (a few
// MB, seconds to compile), which is what the pre-commit hook and the CI
// examples build; everything else (seal, render, scan --fix...) needs the full
// latchkey binary.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/scancommand"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCommand().Execute(); err != nil {
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "latchkey-scan:", msg)
			}
			os.Exit(ec.ExitCode())
		}
		// Anything else is a usage or I/O error: exit 2, as scan documents.
		fmt.Fprintln(os.Stderr, "latchkey-scan:", err)
		os.Exit(2)
	}
}

// newRootCommand makes the scan command the root: `latchkey-scan --staged`
// is `latchkey scan --staged`.
func newRootCommand() *cobra.Command {
	cmd := scancommand.New(version)
	cmd.Use = "latchkey-scan [PATH...] | --staged | --git REV-RANGE | --git --all | -"
	// A root command with subcommands (install-hook) rejects positional
	// arguments unless told otherwise; scan's are paths.
	cmd.Args = cobra.ArbitraryArgs
	cmd.Long = strings.ReplaceAll(cmd.Long, "latchkey scan", "latchkey-scan")
	cmd.Example = strings.ReplaceAll(cmd.Example, "latchkey scan", "latchkey-scan")
	cmd.Version = version
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd
}
