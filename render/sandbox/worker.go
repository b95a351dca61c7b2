package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/latchkey-dev/latchkey/internal/memfs"
	"github.com/latchkey-dev/latchkey/render"
)

// The worker's environment, set by the parent.
const (
	// EnvWorker marks a process as a render worker: TestMain functions and
	// the latchkey binary dispatch to Main when it is "1".
	EnvWorker = "LATCHKEY_RENDER_WORKER"
	envMemory = "LATCHKEY_RENDER_WORKER_MEMORY"
	envCPU    = "LATCHKEY_RENDER_WORKER_CPU"
)

// Exit codes of the worker. A render that fails the ordinary way (a
// template error) exits 0 with the error in its answer; the Go runtime
// exits 2 on a fatal error (out of memory); the race detector 66.
const (
	exitCPU   = 3 // SIGXCPU: the CPU limit
	exitUsage = 4 // not started by a parent
)

// Subcommand is the hidden subcommand of the latchkey binary that runs Main.
const Subcommand = "render-worker"

// IsWorker says whether this process was started by a Sandbox as its
// worker. A test binary that runs a controller calls it first thing in
// TestMain, and Main when it is true.
func IsWorker() bool { return os.Getenv(EnvWorker) == "1" }

// Main is the render worker: it confines the process, reads one request
// from stdin, renders it with render.FS and writes the result to stdout,
// then exits. It never returns.
func Main() {
	os.Exit(serve(os.Stdin, os.Stdout))
}

func serve(in io.Reader, out io.Writer) int {
	if !IsWorker() {
		fmt.Fprintf(os.Stderr, "latchkey %s renders for the controller in a sandbox and is started by it (with %s=1), not by hand\n", Subcommand, EnvWorker)
		return exitUsage
	}
	limits, err := limitsFromEnv()
	if err == nil {
		// Before the first byte of repository content is read.
		err = confine(limits)
	}
	if err != nil {
		// Fail closed: a worker that could not confine itself does not
		// render.
		return answer(out, nil, fmt.Errorf("the render worker could not set its limits: %w", err))
	}
	dir, opts, files, err := readRequest(in)
	if err != nil {
		return answer(out, nil, fmt.Errorf("the render worker could not read its request: %w", err))
	}
	// No context deadline here: the parent enforces the deadline by
	// killing this process, which no template can delay.
	res, err := render.FS(context.Background(), memfs.New(files), dir, opts)
	return answer(out, res, err)
}

func answer(out io.Writer, res *render.Result, err error) int {
	if werr := writeResponse(out, res, err); werr != nil {
		fmt.Fprintf(os.Stderr, "render worker: writing the answer: %v\n", werr)
		return 1
	}
	return 0
}

func limitsFromEnv() (Limits, error) {
	mem, err := strconv.ParseInt(os.Getenv(envMemory), 10, 64)
	if err != nil || mem <= 0 {
		return Limits{}, fmt.Errorf("%s=%q: want a number of bytes", envMemory, os.Getenv(envMemory))
	}
	cpu, err := strconv.ParseInt(os.Getenv(envCPU), 10, 64)
	if err != nil || cpu <= 0 {
		return Limits{}, fmt.Errorf("%s=%q: want a number of seconds", envCPU, os.Getenv(envCPU))
	}
	return Limits{Memory: mem, CPU: time.Duration(cpu) * time.Second}, nil
}
