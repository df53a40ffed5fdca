// Package leakcheck runs a package's tests and then fails them if
// goroutines are left behind, allowing memberlist a few seconds to finish:
// after Shutdown its probe goroutines may still wait up to a probe interval
// for their ack timer, longer than goleak's own retries (about a second).
//
// Usage, in a package whose tests start memberlist:
//
//	func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m.Run)) }
package leakcheck

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/goleak"
)

// Grace is how long leftover goroutines may take to end.
const Grace = 5 * time.Second

// Main calls run (a testing.M's Run) and, when it passed, looks for leaked
// goroutines for up to Grace. It returns the exit code for os.Exit.
func Main(run func() int) int {
	code := run()
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(Grace)
	for err := goleak.Find(); err != nil; err = goleak.Find() {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
		time.Sleep(100 * time.Millisecond) // polling for memberlist's timers to fire
	}
	return 0
}
