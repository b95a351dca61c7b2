package charts

import (
	"sync"
	"testing"
)

// runsAtOnce bounds the end-to-end runs of the RBAC proof in flight in one
// world. Each is mostly waiting on real time (the controller starting, the
// Sync's interval, the steps' polling) while its controller process and
// the shared API server use some CPU: a few at a time keep a two-core
// machine busy without starving the runs' timeouts.
const runsAtOnce = 4

// slots runs subtests concurrently, at most cap(slots) at a time, whatever
// -parallel is (t.Parallel subtests would share the package's -parallel
// budget, GOMAXPROCS by default, with the other tests).
type slots chan struct{}

// run runs f as the subtest name of t once a slot is free: in the
// background when wg is not nil (the caller waits on wg before its test
// returns, as t.Run from another goroutine requires), otherwise before it
// returns.
func (s slots) run(t *testing.T, wg *sync.WaitGroup, name string, f func(*testing.T)) {
	t.Helper()
	do := func() {
		s <- struct{}{}
		defer func() { <-s }()
		t.Run(name, f)
	}
	if wg == nil {
		do()
		return
	}
	wg.Go(do)
}
