// Package faults runs Latchkey's whole fault campaign (internal/faults) with
// the trial counts the issue asks for and prints the faults table that
// docs/reliability.md publishes: each fault, trials, what was checked, the
// result, and recovery p50/max. `make test` runs a seeded subset of the same
// trials; this is the long run.
//
//	make faults   (or: go test ./bench/faults -run '^$' -bench . -benchtime 1x -timeout 300m -trials 50)
//	go test ./bench/faults -run '^$' -bench . -benchtime 1x -timeout 60m -families crash -trials 20
//
// The seed is printed; LATCHKEY_FAULTS_SEED replays a run.
package faults
