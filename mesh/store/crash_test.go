package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// crashChildEnv, when set to a data directory, turns the test binary into
// the crash test's writer (see TestMain).
const crashChildEnv = "STORE_CRASH_CHILD_DIR"

const crashWriters = 8

// crashChild is the writer process: 8 goroutines append changes of their
// own replica, with durability on, and print "replica seq" for each
// acknowledged one. It runs until it is killed.
func crashChild() int {
	c := testConfig(os.Getenv(crashChildEnv))
	c.NoSync = false
	s, err := OpenDisk(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			r := clock.ReplicaID(w + 1)
			for seq := uint64(1); ; seq++ {
				b := Batch{Changes: []Change{ch(r, seq, seq)}, Clock: clock.Timestamp{Wall: int64(seq), Replica: r}}
				if err := Write(context.Background(), s, b); err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "%d %d\n", r, seq) // unbuffered: printed means acknowledged
				out.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

// TestCrashKillDuringWrites re-executes the test binary as a writer,
// SIGKILLs it while it is acknowledging writes, reopens the store and
// checks that every acknowledged change (and clock bound) is there.
func TestCrashKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[clock.ReplicaID]uint64{}
	lines := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("child printed %q", sc.Text())
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		seq, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		acked[clock.ReplicaID(r)] = max(acked[clock.ReplicaID(r)], seq)
		lines++
		if lines == 2000 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed: %v", err)
	}
	t.Logf("child killed after %d acknowledged writes (%d read in all)", 2000, lines)

	c := testConfig(dir)
	s := openDisk(t, c)
	defer closeStore(t, s)
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var newest uint64
	for r, seq := range acked {
		if st.Version[r] < seq {
			t.Errorf("replica %s: acknowledged up to %d, stored %d", r, seq, st.Version[r])
		}
		newest = max(newest, seq)
	}
	if uint64(st.Clock.Wall) < newest {
		t.Errorf("clock bound %v below the newest acknowledged %d", st.Clock, newest)
	}
}
