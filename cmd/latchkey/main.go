// Command latchkey is the single Latchkey binary: the GitOps controller and
// the command-line workflows around it (scan, render, seal, dev).
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		var ec exitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "latchkey:", msg)
			}
			os.Exit(ec.ExitCode())
		}
		// Anything else is a usage or I/O error: exit 2, as scan documents.
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(2)
	}
}
