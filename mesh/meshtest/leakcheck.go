// Package meshtest holds test support for code that runs memberlist: the
// mesh package's own tests, the command line's and the simulations'.
//
// Main is a goroutine-leak check that allows for memberlist's shutdown.
// After Shutdown, memberlist's probe goroutines may still wait up to a
// probe interval for their ack timer, longer than goleak's own retries
// (about a second), so Main keeps looking for up to Grace before it calls
// anything a leak. Use it from TestMain in every package whose tests start
// memberlist:
//
//	func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }
//
// Main is meant for TestMain, which runs on one goroutine; it keeps no
// state between calls.
package meshtest

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/goleak"
)

// Grace is how long goroutines left after the tests may take to end.
const Grace = 5 * time.Second

// Main calls run (a testing.M's Run) and, when the tests passed, fails with
// exit code 1 if goroutines are still running after Grace, printing them.
// It returns the exit code for os.Exit.
func Main(run func() int) int { return main(run, Grace) }

func main(run func() int, grace time.Duration) int {
	code := run()
	if code != 0 {
		return code
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(grace)
	for err := goleak.Find(); err != nil; err = goleak.Find() {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
		<-tick.C // memberlist's probe timers end on their own schedule
	}
	return 0
}
