package main

import (
	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/render/sandbox"
)

// newRenderWorkerCommand is the hidden `latchkey render-worker`: the
// controller starts it (render/sandbox) to render one Helm chart or
// kustomization under a memory limit, a CPU limit and a deadline, so a
// hostile repository fails its own Sync instead of ending the controller.
// It is not for people: it reads its request on stdin and refuses to run
// without the environment the controller gives it.
func newRenderWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:                sandbox.Subcommand,
		Short:              "Render one chart or kustomization for the controller, in a sandbox (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		Run:                func(*cobra.Command, []string) { sandbox.Main() },
	}
}
