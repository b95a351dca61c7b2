package main

import (
	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/scancommand"
)

// newRootCommand assembles the latchkey command tree. Each subcommand lives in
// its own file and registers here, so `latchkey --help` lists exactly what exists.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "latchkey",
		Short: "GitOps with secrets kept out of Git",
		Long: `Latchkey keeps a GitOps repository reference-only while the cluster receives the full state:
Git holds Vault references and SealedSecret ciphertext, the controller resolves them at apply time,
and the scanner rejects any commit that would put a plaintext secret into the repository.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version, as every other CLI has it; same line as "latchkey version".
		Version: version,
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.AddCommand(newVersionCommand())
	root.AddCommand(newControllerCommand())
	root.AddCommand(newDevCommand())
	scan := scancommand.New(version)
	withFix(scan) // the migration needs Vault and sealing: only in the full binary
	root.AddCommand(scan)
	root.AddCommand(newRenderCommand())
	root.AddCommand(newSealCommand())
	root.AddCommand(newPromoteCommand())
	root.AddCommand(newApproveCommand())
	root.AddCommand(newRenderWorkerCommand())
	return root
}

// exitCoder is an error that carries the process exit code it stands for
// (for example `scan` exits 1 on findings, 2 on usage or I/O errors).
type exitCoder interface {
	error
	ExitCode() int
}
