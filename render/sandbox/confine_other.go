//go:build !linux

package sandbox

import "runtime/debug"

// confine, outside Linux (latchkey dev on a laptop), can only ask the
// garbage collector to stay under the limit: the process boundary still
// keeps a runaway render from taking the controller with it, and the
// parent's deadline still ends it. The controller's supported platform is
// Linux, where confine_linux.go sets hard limits.
func confine(l Limits) error {
	debug.SetMemoryLimit(l.Memory)
	return nil
}
