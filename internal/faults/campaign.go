package faults

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Environment variables a campaign reads, so `make test` (the seeded subset)
// and bench/faults (the full campaign) run the same trials with other counts,
// and a failure is replayed with its seed.
const (
	// EnvSeed fixes the seed; unset, each run picks one and logs it.
	EnvSeed = "LATCHKEY_FAULTS_SEED"
	// EnvTrials overrides the number of trials per fault.
	EnvTrials = "LATCHKEY_FAULTS_TRIALS"
)

// Campaign is what every fault function reads: the seed its random choices
// (which moment to kill, which files a commit changes) come from, and how
// many trials to run.
type Campaign struct {
	Seed   uint64
	Trials int
}

// NewCampaign reads the seed and trial count from the environment (see
// EnvSeed, EnvTrials), defaulting to a fresh seed and trials, and logs the
// seed so a failure can be replayed.
func NewCampaign(tb testing.TB, trials int) Campaign {
	tb.Helper()
	c := Campaign{Seed: uint64(time.Now().UnixNano()), Trials: trials}
	if v := os.Getenv(EnvSeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: want an unsigned integer", EnvSeed, v)
		}
		c.Seed = seed
	}
	if v := os.Getenv(EnvTrials); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("%s=%q: want a positive integer", EnvTrials, v)
		}
		c.Trials = n
	}
	tb.Logf("faults: seed %d, %d trials (replay with %s=%d)", c.Seed, c.Trials, EnvSeed, c.Seed)
	return c
}

// Rand is the campaign's random source for one fault: the same seed and
// fault name give the same choices, whichever faults run before it.
func (c Campaign) Rand(fault string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(fault); i++ {
		h = (h ^ uint64(fault[i])) * 1099511628211
	}
	return rand.New(rand.NewPCG(c.Seed, h))
}
