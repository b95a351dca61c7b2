// Package sandbox renders Helm charts and kustomizations in a child process
// of the same binary, under a memory limit, a CPU limit and a deadline, so
// that no repository can take the controller down by what it renders.
//
// Why a process: Helm's `{{ repeat 300000000 "A" }}` (or any template or
// kustomization that grows without bound) makes one huge allocation, or a
// few, inside the Go runtime. Neither a context, nor debug.SetMemoryLimit
// (GOMEMLIMIT), nor any check in our code can refuse an allocation: the
// runtime either gets the memory or dies with a fatal "out of memory" that
// no recover() catches. The only boundary the kernel enforces per
// allocation is a process's own limits. So the controller (the parent)
// streams the files the render needs to `latchkey render-worker` (the
// child) on its stdin, the child confines itself (confine_linux.go) before
// it reads a byte of them, renders with render.FS, and streams the objects
// with their sources back on stdout. When the child dies, the parent names
// why (LimitError) and the Sync fails with that reason; the parent's memory
// never held more than the files it already had and the objects it accepts
// (Limits.Output).
//
// Plain YAML stays in process (Sandbox.Render decides): decoding a file
// costs memory proportional to its size, which the snapshot's size limit
// bounds, and YAML alias expansion is capped by the YAML library. A plain
// render has no loop and no function that multiplies its input.
//
// What goes to the child: repository content only (the files under the
// rendered directory for Helm, with its values files; the whole snapshot
// for Kustomize, whose bases may live anywhere in the repository) and the
// render options. Rendering happens before secret resolution, so no
// resolved value ever reaches the child, and the child's environment is
// built from scratch (worker.go: environ), so the controller's Vault token or
// AppRole secret never does either. Nothing is written to disk: the files
// travel over a pipe and live in an in-memory file system in the child.
//
// How the child is started: Config.Command, by default the running
// executable with the hidden subcommand `render-worker`. The parent also
// sets LATCHKEY_RENDER_WORKER=1 in the child's environment, so a test
// binary that embeds the controller dispatches to Main from its TestMain
// (`if sandbox.IsWorker() { sandbox.Main() }`) without knowing about the
// subcommand.
package sandbox
