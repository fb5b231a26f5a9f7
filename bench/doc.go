// Package bench holds UMM's in-process Go benchmarks (this package) and, under bench/load, the load
// harness that runs UMM and Ory Hydra side by side as real processes. Nothing here is a test: figures
// depend on the machine, so compare them only as ratios measured in the same run.
//
//	go test ./bench -run '^$' -bench . -benchtime 3s
package bench
