package clock_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// Environment knobs for the property test: CLOCK_PROP_SEED runs one seed
// (to reproduce a failure), CLOCK_PROP_ROUNDS multiplies the events per run.
const (
	envSeed   = "CLOCK_PROP_SEED"
	envRounds = "CLOCK_PROP_ROUNDS"
)

// vclock is the oracle: a vector clock indexed by replica position.
type vclock []uint32

// before reports whether a happened before b: a <= b everywhere and a != b.
func (a vclock) before(b vclock) bool {
	strict := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			strict = true
		}
	}
	return strict
}

type event struct {
	replica int
	ts      clock.Timestamp
	vc      vclock
	desc    string
}

type message struct {
	from int
	ts   clock.Timestamp
	vc   vclock
}

// TestPropertyCausality runs replicas with skewed manual clocks exchanging
// messages at random, and checks against a vector-clock oracle that every
// causally later event has a larger timestamp, and the HLC bounds:
// wall >= own physical time and wall - own physical time <= min(skew, drift).
func TestPropertyCausality(t *testing.T) {
	rounds := 1
	if s := os.Getenv(envRounds); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", envRounds, s)
		}
		rounds = n
	}
	seeds := []uint64{1, 2, 3, 20261125, 0xdeadbeef, 77}
	if s := os.Getenv(envSeed); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envSeed, s, err)
		}
		seeds = []uint64{seed}
	}
	for _, seed := range seeds {
		for _, mode := range []struct {
			name  string
			skew  int64 // ms between the slowest and fastest physical clock
			drift int64 // ms
		}{
			{"skew within drift", 40, 50},
			{"skew beyond drift", 300, 50},
		} {
			t.Run(mode.name+"/seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
				runCausality(t, seed, mode.skew, mode.drift, 1500*rounds)
			})
		}
	}
}

func runCausality(t *testing.T, seed uint64, skew, drift int64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (rerun with %s=%d): "+format, append([]any{seed, envSeed, seed}, args...)...)
	}
	n := 3 + rng.IntN(4)
	offsets := make([]int64, n)
	offsets[0], offsets[1] = 0, skew // the extremes are always present
	for i := 2; i < n; i++ {
		offsets[i] = rng.Int64N(skew + 1)
	}
	truth := int64(1_700_000_000_000)
	phys := make([]*clock.Manual, n)
	clocks := make([]*clock.Clock, n)
	vcs := make([]vclock, n)
	for i := range n {
		phys[i] = clock.NewManual(truth + offsets[i])
		c, err := clock.New(clock.Config{
			Replica:  clock.ReplicaID(0x1000 + i*7),
			Physical: phys[i],
			MaxDrift: time.Duration(drift) * time.Millisecond,
		})
		if err != nil {
			fail("New: %v", err)
		}
		clocks[i] = c
		vcs[i] = make(vclock, n)
	}
	var events []event
	var inflight []message
	rejections := 0
	record := func(i int, ts clock.Timestamp, desc string) {
		vcs[i][i]++
		events = append(events, event{replica: i, ts: ts, vc: append(vclock(nil), vcs[i]...), desc: desc})
		pt := phys[i].NowMillis()
		if ts.Wall < pt {
			fail("replica %d %s: wall %d below physical %d", i, desc, ts.Wall, pt)
		}
		if bound := min(skew, drift); ts.Wall-pt > bound {
			fail("replica %d %s: wall %d is %dms ahead of physical %d, bound %d", i, desc, ts.Wall, ts.Wall-pt, pt, bound)
		}
	}
	for step := range steps {
		if rng.IntN(3) == 0 { // true time moves; often it does not, to exercise Logical
			truth += rng.Int64N(4)
			for i := range n {
				phys[i].Set(truth + offsets[i])
			}
		}
		i := rng.IntN(n)
		switch r := rng.IntN(10); {
		case r < 3: // local event
			record(i, clocks[i].Now(), "local")
		case r < 6: // send
			ts := clocks[i].Now()
			record(i, ts, "send")
			inflight = append(inflight, message{from: i, ts: ts, vc: events[len(events)-1].vc})
		case len(inflight) > 0: // receive a random in-flight message
			k := rng.IntN(len(inflight))
			msg := inflight[k]
			to := rng.IntN(n)
			if to == msg.from {
				to = (to + 1) % n
			}
			before := clocks[to].Last()
			checkErr := clocks[to].Check(msg.ts)
			err := clocks[to].Update(msg.ts)
			if (checkErr == nil) != (err == nil) {
				fail("step %d: Check said %v but Update said %v", step, checkErr, err)
			}
			tooFar := msg.ts.Wall-phys[to].NowMillis() > drift
			if tooFar != (err != nil) {
				fail("step %d: Update(%s) at replica %d with physical %d: err %v, drift oracle says rejected=%v",
					step, msg.ts, to, phys[to].NowMillis(), err, tooFar)
			}
			if err != nil {
				if !errors.Is(err, clock.ErrDrift) {
					fail("step %d: unexpected error %v", step, err)
				}
				if clocks[to].Last() != before {
					fail("step %d: rejected Update moved replica %d from %s to %s", step, to, before, clocks[to].Last())
				}
				rejections++
				// Leave it in flight: it may be accepted once time catches up.
				continue
			}
			for j := range n {
				vcs[to][j] = max(vcs[to][j], msg.vc[j])
			}
			record(to, clocks[to].Last(), "receive from "+strconv.Itoa(msg.from))
			if got := clocks[to].Last(); got.Compare(msg.ts) <= 0 {
				fail("step %d: after accepting %s replica %d is at %s", step, msg.ts, to, got)
			}
			if rng.IntN(4) != 0 { // sometimes keep it: duplicate delivery
				inflight[k] = inflight[len(inflight)-1]
				inflight = inflight[:len(inflight)-1]
			}
		}
	}
	if skew <= drift && rejections > 0 {
		fail("%d rejections although skew %d <= drift %d", rejections, skew, drift)
	}
	seen := make(map[clock.Timestamp]bool, len(events))
	for _, e := range events {
		if seen[e.ts] {
			fail("timestamp %s issued twice", e.ts)
		}
		seen[e.ts] = true
	}
	for a := range events {
		for b := range events {
			ea, eb := events[a], events[b]
			// e happened before f iff f has seen e's own entry: a cheap
			// form of vc(e) < vc(f), cross-checked against it on a sample.
			hb := a != b && ea.vc[ea.replica] <= eb.vc[ea.replica]
			if (a+b)%16 == 0 && hb != ea.vc.before(eb.vc) {
				fail("oracle disagrees with itself on events %d %v and %d %v", a, ea.vc, b, eb.vc)
			}
			if hb && ea.ts.Compare(eb.ts) >= 0 {
				fail("event %d (replica %d %s, %s, vc %v) happened before event %d (replica %d %s, %s, vc %v) but its timestamp is not smaller",
					a, ea.replica, ea.desc, ea.ts, ea.vc, b, eb.replica, eb.desc, eb.ts, eb.vc)
			}
		}
	}
	t.Logf("seed %d: %d replicas, %d events, %d drift rejections", seed, n, len(events), rejections)
}
