package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey-dev/latchkey/render"

	"github.com/latchkey-dev/latchkey/config"
)

// Config configures a Sandbox.
type Config struct {
	Limits Limits
	// Command is the worker's argv. Default: this executable with the
	// hidden subcommand render-worker (a test binary ignores the argument
	// and dispatches on EnvWorker in its TestMain).
	Command []string
}

// Sandbox renders Helm and Kustomize directories in worker processes. It
// is safe for concurrent use; at most Limits.Workers workers run at once.
type Sandbox struct {
	limits  Limits
	command []string
	slots   chan struct{}
}

// New returns a Sandbox; zero limits take their defaults.
func New(cfg Config) *Sandbox {
	l := cfg.Limits.withDefaults()
	command := cfg.Command
	if len(command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		command = []string{exe, Subcommand}
	}
	return &Sandbox{limits: l, command: command, slots: make(chan struct{}, l.Workers)}
}

// Limits are the sandbox's limits, defaults filled in.
func (s *Sandbox) Limits() Limits { return s.limits }

// Render renders the directory dir of fsys as render.FS does, with the
// same objects, sources and error messages: Helm charts and kustomizations
// (forced, or detected as Auto detects them) in a worker process, plain
// YAML in process (see the package documentation for why).
func (s *Sandbox) Render(ctx context.Context, fsys fs.FS, dir string, opts render.Options) (*render.Result, error) {
	mode := opts.Mode
	clean := path.Clean(strings.TrimPrefix(filepath.ToSlash(dir), "/"))
	if opts.Helm.Chart != nil {
		mode = render.Helm
	}
	if mode == render.Auto {
		sub, err := fs.Sub(fsys, clean)
		if err != nil {
			return render.FS(ctx, fsys, dir, opts)
		}
		mode = render.Detect(sub)
	}
	if mode != render.Helm && mode != render.Kustomize {
		return render.FS(ctx, fsys, dir, opts)
	}
	opts.Mode = mode
	res, _, err := s.Run(ctx, fsys, clean, opts)
	return res, err
}

// Run renders dir of fsys in a worker, whatever the mode, and says what the
// worker used. An error that stopped the worker at a limit is a
// *LimitError (errors.Is(err, ErrLimitExceeded)); a render that failed in
// the worker fails with render's own message.
func (s *Sandbox) Run(ctx context.Context, fsys fs.FS, dir string, opts render.Options) (*render.Result, Stats, error) {
	files, err := requestFiles(fsys, dir, opts.Mode, opts.Helm.ValuesFiles)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("rendering %s: %w", dir, err)
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, Stats{}, fmt.Errorf("rendering %s: waiting for a render worker (at most %d run at once, --render-workers): %w", dir, s.limits.Workers, ctx.Err())
	}
	defer func() { <-s.slots }()

	runCtx, cancel := context.WithTimeout(ctx, s.limits.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, s.command[0], s.command[1:]...)
	cmd.Env = s.environ(opts)
	cmd.Dir = "/"
	isolate(cmd)
	// Wait returns this long after the kill even if a grandchild holds
	// the pipes open.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, Stats{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, Stats{}, err
	}
	stderr := &headBuffer{max: 16 << 10}
	cmd.Stderr = stderr

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, Stats{}, fmt.Errorf("rendering %s: starting the render worker %s: %w", dir, s.command[0], err)
	}
	sent := make(chan error, 1)
	go func() {
		err := writeRequest(stdin, fsys, dir, opts, files)
		_ = stdin.Close()
		sent <- err
	}()
	stopSampling := sample(cmd.Process.Pid)
	res, reported, readErr := readResponse(stdout, s.limits.Output)
	sampled := stopSampling()
	var werr *renderError
	if readErr != nil && !errors.As(readErr, &werr) {
		// The worker died, or sent more than the parent accepts: make sure
		// it is gone before waiting for it.
		_ = kill(cmd)
	}
	waitErr := cmd.Wait()
	sendErr := <-sent
	stats := Stats{Wall: time.Since(start), PeakRSS: max(reported, sampled)}
	stats.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()

	if readErr == nil && waitErr == nil {
		return res, stats, nil
	}
	if werr != nil && waitErr == nil {
		return nil, stats, werr
	}
	limit := func(l Limit, detail string) (*render.Result, Stats, error) {
		return nil, stats, &LimitError{Limit: l, Limits: s.limits, Detail: detail, Stats: stats}
	}
	code := cmd.ProcessState.ExitCode()
	sig := signalled(cmd.ProcessState)
	out := stderr.String()
	switch {
	case ctx.Err() != nil:
		return nil, stats, fmt.Errorf("rendering %s: %w", dir, ctx.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return limit(LimitTimeout, "")
	case errors.Is(readErr, errTooLarge):
		return limit(LimitOutput, "")
	case code == exitCPU || ((sig == "killed" || sig == "CPU time limit exceeded") && stats.CPU >= s.limits.CPU):
		return limit(LimitCPU, "")
	case outOfMemory(out) != "":
		return limit(LimitMemory, outOfMemory(out))
	case sig == "killed":
		return nil, stats, fmt.Errorf("rendering %s: the render worker was killed (SIGKILL), most likely by the kernel's OOM killer: the pod's memory limit must hold the controller plus --render-workers (%d) times --render-memory-limit (%s)", dir, s.limits.Workers, config.ByteSize(s.limits.Memory))
	}
	detail := firstLine(out)
	if detail == "" {
		detail = errors.Join(readErr, sendErr).Error()
	}
	return nil, stats, fmt.Errorf("rendering %s: the render worker failed (%v): %s", dir, cmd.ProcessState, detail)
}

// environ is the worker's whole environment, built from scratch: the
// controller's own environment holds its Vault token, AppRole secret ID and
// Kubernetes credentials, and none of it is the worker's business.
func (s *Sandbox) environ(opts render.Options) []string {
	procs := min(runtime.GOMAXPROCS(0), 2) // a render is sequential; the rest is GC
	env := []string{
		EnvWorker + "=1",
		envMemory + "=" + strconv.FormatInt(s.limits.Memory, 10),
		envCPU + "=" + strconv.FormatUint(s.limits.cpuSeconds(), 10),
		"GOMAXPROCS=" + strconv.Itoa(procs),
	}
	pass := []string{"PATH", "HOME", "TMPDIR"}
	if !opts.NoRemoteBases || len(opts.RemoteHosts) > 0 {
		// kustomize runs git and fetches URLs for remote bases.
		pass = append(pass, "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR")
	}
	for _, k := range pass {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// outOfMemory is the line in which the worker's runtime says it could not
// get memory, or "".
func outOfMemory(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		for _, sign := range []string{
			"out of memory",                  // the Go runtime: an allocation crossed RLIMIT_AS
			"cannot allocate memory",         // mmap's ENOMEM, as the runtime reports it
			"failed to create new OS thread", // no room for a thread's stack
			"pthread_create failed",          // the same in a cgo build (8 MiB stacks)
			"address space collisions",       // the race detector's runtime (test builds)
			"ThreadSanitizer failed to allocate",
		} {
			if strings.Contains(line, sign) {
				return truncate(strings.TrimSpace(line), 200)
			}
		}
	}
	return ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// headBuffer keeps the first max bytes written to it: the runtime's fatal
// error comes first, goroutine dumps after.
type headBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *headBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sample reads the worker's peak RSS every 10ms until stopped (when its
// stdout ends, before it is reaped, so the pid is still the worker's), and
// then returns the largest value seen: a worker killed at its memory limit
// cannot report its own.
func sample(pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			peak.Store(max(peak.Load(), peakRSS(pid)))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return max(peak.Load(), peakRSS(pid))
	}
}
