// Package scancommand is the `scan` command line, shared by the full latchkey
// binary (as `latchkey scan`) and the small latchkey-scan binary (as its root
// command). It imports the scanner and cobra only, so a binary built from it
// carries none of the controller's Kubernetes, Helm or Vault clients: that is
// what lets the pre-commit hook and CI build the scanner in seconds.
package scancommand

import "github.com/spf13/cobra"

// version is what reports name as the tool's version (SARIF
// tool.driver.version). It is a package variable, set by New, so that scan.go
// reads as it did in package main.
var version = "dev"

// New returns the scan command; v is the binary's version.
func New(v string) *cobra.Command {
	version = v
	return newScanCommand()
}
