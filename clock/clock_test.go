package clock_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

func TestDriftBoundary(t *testing.T) {
	cases := []struct {
		name     string
		drift    time.Duration
		aheadMs  int64 // remote.Wall - physical
		accepted bool
	}{
		{"behind", 500 * time.Millisecond, -10, true},
		{"equal", 500 * time.Millisecond, 0, true},
		{"just inside", 500 * time.Millisecond, 499, true},
		{"exactly MaxDrift is accepted", 500 * time.Millisecond, 500, true},
		{"MaxDrift+1ms is rejected", 500 * time.Millisecond, 501, false},
		{"far ahead", 500 * time.Millisecond, 1 << 40, false},
		{"sub-millisecond part ignored: 500.9ms accepts 500", 500*time.Millisecond + 900*time.Microsecond, 500, true},
		{"sub-millisecond part ignored: 500.9ms rejects 501", 500*time.Millisecond + 900*time.Microsecond, 501, false},
		{"1ns drift accepts only the present", time.Nanosecond, 0, true},
		{"1ns drift rejects 1ms ahead", time.Nanosecond, 1, false},
		{"1ms drift accepts 1ms ahead", time.Millisecond, 1, true},
		{"1ms drift rejects 2ms ahead", time.Millisecond, 2, false},
	}
	const pt = 1_000_000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newManualClock(t, pt, tc.drift, clock.Timestamp{})
			remote := clock.Timestamp{Wall: pt + tc.aheadMs, Logical: 3, Replica: other}
			before := c.Last()
			err := c.Update(remote)
			if tc.accepted {
				if err != nil {
					t.Fatalf("Update(%s) at pt %d: %v, want accepted", remote, pt, err)
				}
				if c.Now().Compare(remote) <= 0 {
					t.Fatalf("Now() after accepting %s is not after it", remote)
				}
				return
			}
			if !errors.Is(err, clock.ErrDrift) {
				t.Fatalf("Update(%s) at pt %d: %v, want ErrDrift", remote, pt, err)
			}
			var de *clock.DriftError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DriftError", err)
			}
			if de.Remote != remote || de.Physical != pt || de.MaxDrift != tc.drift {
				t.Fatalf("DriftError = %+v, want remote %s physical %d drift %v", *de, remote, pt, tc.drift)
			}
			if c.Last() != before {
				t.Fatalf("rejected Update moved the clock from %s to %s", before, c.Last())
			}
		})
	}
}

// TestNoPoisoning: a clock that rejected remotes behaves exactly like one
// that never saw them.
func TestNoPoisoning(t *testing.T) {
	rejected := []clock.Timestamp{
		{Wall: 1_000_000, Logical: 0, Replica: other},          // drift
		{Wall: 5_000, Logical: 65535, Replica: other},          // drift
		{Wall: 1_000, Logical: 1, Replica: self},               // collision
		{Wall: -5, Logical: 1, Replica: other},                 // malformed
		{Wall: clock.MaxWall + 1, Replica: other},              // malformed
		{Wall: clock.MaxWall, Logical: 0xffff, Replica: other}, // drift
	}
	poisoned, pm := newManualClock(t, 1000, 500*time.Millisecond, clock.Timestamp{})
	clean, cm := newManualClock(t, 1000, 500*time.Millisecond, clock.Timestamp{})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		pt := 1000 + int64(i/4)
		pm.Set(pt)
		cm.Set(pt)
		r := rejected[rng.IntN(len(rejected))]
		if r.Replica == self {
			r.Wall = poisoned.Last().Wall + 1
		}
		if err := poisoned.Update(r); err == nil {
			t.Fatalf("step %d: Update(%s) accepted, want rejected", i, r)
		}
		if err := poisoned.Check(r); err == nil {
			t.Fatalf("step %d: Check(%s) accepted, want rejected", i, r)
		}
		if got, want := poisoned.Now(), clean.Now(); got != want {
			t.Fatalf("step %d: after rejecting %s, Now() = %s, clean clock says %s", i, r, got, want)
		}
	}
}

// TestNoRatchet: accepting a remote at the drift limit does not let a later
// remote go further beyond physical time, however many times it is tried.
func TestNoRatchet(t *testing.T) {
	const pt, drift = 10_000, 500
	c, m := newManualClock(t, pt, drift*time.Millisecond, clock.Timestamp{})
	limit := clock.Timestamp{Wall: pt + drift, Logical: 7, Replica: other}
	if err := c.Update(limit); err != nil {
		t.Fatalf("Update at the limit: %v", err)
	}
	for i := range 100 {
		c.Now()
		beyond := clock.Timestamp{Wall: c.Last().Wall + 1, Replica: other}
		if err := c.Update(beyond); !errors.Is(err, clock.ErrDrift) {
			t.Fatalf("try %d: Update(%s) with physical %d: %v, want ErrDrift", i, beyond, pt, err)
		}
		if w := c.Last().Wall; w-pt > drift {
			t.Fatalf("try %d: clock wall %d is %dms ahead of physical time, max %d", i, w, w-pt, drift)
		}
	}
	// The same remote is accepted once physical time catches up.
	late := clock.Timestamp{Wall: pt + drift + 300, Replica: other}
	if err := c.Update(late); !errors.Is(err, clock.ErrDrift) {
		t.Fatalf("Update(%s) too early: %v, want ErrDrift", late, err)
	}
	m.Set(pt + 299)
	if err := c.Check(late); !errors.Is(err, clock.ErrDrift) {
		t.Fatalf("Check(%s) 1ms too early: %v, want ErrDrift", late, err)
	}
	m.Set(pt + 300)
	if err := c.Check(late); err != nil {
		t.Fatalf("Check(%s) once physical time caught up: %v", late, err)
	}
	if err := c.Update(late); err != nil {
		t.Fatalf("Update(%s) once physical time caught up: %v", late, err)
	}
	if got := c.Now(); got.Compare(late) <= 0 {
		t.Fatalf("Now() = %s, not after accepted %s", got, late)
	}
}

func TestBackwardJumps(t *testing.T) {
	const calls = 100_000
	seed := uint64(20261125)
	rng := rand.New(rand.NewPCG(seed, 0))
	c, m := newManualClock(t, 1_700_000_000_000, time.Second, clock.Timestamp{})
	prev := c.Now()
	for i := range calls {
		switch r := rng.IntN(100); {
		case r < 5: // a big backward jump (NTP step, VM restore)
			m.Advance(-time.Duration(rng.IntN(3_600_000)) * time.Millisecond)
		case r < 30:
			m.Advance(-time.Duration(rng.IntN(5)) * time.Millisecond)
		case r < 60:
			m.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
		pt := m.NowMillis()
		got := c.Now()
		if got.Compare(prev) <= 0 {
			t.Fatalf("seed %d, call %d: Now() = %s after %s (physical %d)", seed, i, got, prev, pt)
		}
		if got.Wall < pt {
			t.Fatalf("seed %d, call %d: Now() = %s has wall below physical %d", seed, i, got, pt)
		}
		prev = got
	}
}

func TestOverflowCarry(t *testing.T) {
	c, m := newManualClock(t, 777, time.Second, clock.Timestamp{Wall: 777, Logical: 65530, Replica: self})
	prev := clock.Timestamp{Wall: 777, Logical: 65530}
	var seen []clock.Timestamp
	for range 10 {
		got := c.Now()
		if got.Compare(prev) <= 0 {
			t.Fatalf("Now() = %s after %s", got, prev)
		}
		seen = append(seen, got)
		prev = got
	}
	want := []struct {
		wall    int64
		logical uint16
	}{{777, 65531}, {777, 65532}, {777, 65533}, {777, 65534}, {777, 65535}, {778, 0}, {778, 1}, {778, 2}, {778, 3}, {778, 4}}
	for i, w := range want {
		if seen[i].Wall != w.wall || seen[i].Logical != w.logical {
			t.Fatalf("call %d: Now() = %s, want (%d, %d)", i, seen[i], w.wall, w.logical)
		}
	}
	// Physical time catching up with the carried wall continues the count.
	m.Set(778)
	if got := c.Now(); got.Wall != 778 || got.Logical != 5 {
		t.Fatalf("Now() = %s, want (778, 5)", got)
	}
}

func TestExhaustion(t *testing.T) {
	last := clock.Timestamp{Wall: clock.MaxWall, Logical: 65535, Replica: self}
	if _, err := clock.New(clock.Config{Replica: self, MaxDrift: time.Second, Resume: last}); !errors.Is(err, clock.ErrConfig) {
		t.Fatalf("New with the last timestamp as Resume: %v, want ErrConfig", err)
	}
	// Physical time beyond the representable range is clamped to MaxWall.
	c, _ := newManualClock(t, clock.MaxWall+12345, time.Second,
		clock.Timestamp{Wall: clock.MaxWall, Logical: 65533, Replica: self})
	if got := c.Now(); got.Wall != clock.MaxWall || got.Logical != 65534 {
		t.Fatalf("Now() = %s, want (MaxWall, 65534)", got)
	}
	remote := clock.Timestamp{Wall: clock.MaxWall, Logical: 65535, Replica: other}
	if err := c.Update(remote); !errors.Is(err, clock.ErrExhausted) {
		t.Fatalf("Update(%s): %v, want ErrExhausted", remote, err)
	}
	if got := c.Now(); got.Wall != clock.MaxWall || got.Logical != 65535 {
		t.Fatalf("Now() = %s, want (MaxWall, 65535)", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("Now() past the last timestamp did not panic")
		}
	}()
	c.Now()
}

func TestNegativePhysicalClamped(t *testing.T) {
	c, _ := newManualClock(t, -5000, time.Second, clock.Timestamp{})
	if got := c.Now(); got.Wall != 0 || got.Logical != 1 {
		t.Fatalf("Now() with negative physical time = %s, want (0, 1)", got)
	}
	if err := c.Update(clock.Timestamp{Wall: 1000, Replica: other}); err != nil {
		t.Fatalf("Update 1000ms ahead of clamped physical time 0: %v", err)
	}
}

func TestRestartFromResume(t *testing.T) {
	resume := clock.Timestamp{Wall: 5_000, Logical: 7, Replica: self}
	cases := []struct {
		name    string
		resume  clock.Timestamp
		pt      int64
		wall    int64
		logical uint16
	}{
		{"physical behind the persisted timestamp", resume, 4_000, 5_000, 8},
		{"physical equal to it", resume, 5_000, 5_000, 8},
		{"physical ahead of it", resume, 6_000, 6_000, 0},
		{"persisted at the top of the counter", clock.Timestamp{Wall: 5_000, Logical: 65535, Replica: self}, 10, 5_001, 0},
		{"persisted from another replica id sorting above ours", clock.Timestamp{Wall: 5_000, Logical: 7, Replica: 99}, 10, 5_000, 8},
		{"fresh replica", clock.Timestamp{}, 42, 42, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newManualClock(t, tc.pt, time.Second, tc.resume)
			if l := c.Last(); l.Wall != tc.resume.Wall || l.Logical != tc.resume.Logical {
				t.Fatalf("Last() before any event = %s, want resume's (%d, %d)", l, tc.resume.Wall, tc.resume.Logical)
			}
			got := c.Now()
			if got.Compare(tc.resume) <= 0 {
				t.Fatalf("Now() = %s, not after Resume %s", got, tc.resume)
			}
			if got.Wall != tc.wall || got.Logical != tc.logical {
				t.Fatalf("Now() = %s, want (%d, %d)", got, tc.wall, tc.logical)
			}
			// Echoes of what we issued before the restart are fine.
			if tc.resume.Replica == self {
				if err := c.Update(tc.resume); err != nil {
					t.Fatalf("Update(echo of Resume): %v", err)
				}
			}
		})
	}
	// A whole restart cycle: persist Last, restart with a clock far behind.
	c1, _ := newManualClock(t, 90_000, time.Second, clock.Timestamp{})
	var issued []clock.Timestamp
	for range 50 {
		issued = append(issued, c1.Now())
	}
	c2, _ := newManualClock(t, 1_000, time.Second, c1.Last())
	for _, ts := range issued {
		if err := c2.Update(ts); err != nil {
			t.Fatalf("restarted clock rejects echo %s: %v", ts, err)
		}
	}
	if got := c2.Now(); got.Compare(issued[len(issued)-1]) <= 0 {
		t.Fatalf("restarted Now() = %s, not after %s", got, issued[len(issued)-1])
	}
}

func TestReplicaCollision(t *testing.T) {
	c, _ := newManualClock(t, 100, time.Second, clock.Timestamp{})
	a := c.Now()
	b := c.Now()
	for _, echo := range []clock.Timestamp{a, b, {Wall: 1, Replica: self}} {
		if err := c.Check(echo); err != nil {
			t.Fatalf("Check(echo %s): %v", echo, err)
		}
		if err := c.Update(echo); err != nil {
			t.Fatalf("Update(echo %s): %v", echo, err)
		}
	}
	last := c.Last()
	for _, foreign := range []clock.Timestamp{
		{Wall: last.Wall, Logical: last.Logical + 1, Replica: self},
		{Wall: last.Wall + 1, Replica: self},
		{Wall: last.Wall + 10_000, Replica: self}, // also drifted: collision is checked first
	} {
		for name, f := range map[string]func(clock.Timestamp) error{"Check": c.Check, "Update": c.Update} {
			if err := f(foreign); !errors.Is(err, clock.ErrReplicaCollision) {
				t.Fatalf("%s(%s) with Last %s: %v, want ErrReplicaCollision", name, foreign, last, err)
			}
		}
		if c.Last() != last {
			t.Fatalf("rejected collision moved the clock from %s to %s", last, c.Last())
		}
	}
	// Another replica's timestamp at the same point is fine.
	if err := c.Update(clock.Timestamp{Wall: last.Wall, Logical: last.Logical + 1, Replica: other}); err != nil {
		t.Fatalf("Update from another replica: %v", err)
	}
}

// TestConcurrentNow: 8 goroutines calling Now (and some calling Update) get
// distinct timestamps, each goroutine's strictly increasing. Run under -race.
func TestConcurrentNow(t *testing.T) {
	const goroutines, calls = 8, 5_000
	c, m := newManualClock(t, 1_000, time.Second, clock.Timestamp{})
	results := make([][]clock.Timestamp, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]clock.Timestamp, 0, calls)
			for i := range calls {
				switch {
				case g == 0 && i%100 == 0:
					m.Advance(time.Millisecond)
				case g == 1 && i%7 == 0:
					if err := c.Update(clock.Timestamp{Wall: m.NowMillis() + int64(i%500), Logical: uint16(i), Replica: other}); err != nil {
						t.Errorf("Update: %v", err)
						return
					}
				}
				out = append(out, c.Now())
			}
			results[g] = out
		}()
	}
	wg.Wait()
	seen := make(map[clock.Timestamp]int, goroutines*calls)
	for g, out := range results {
		for i, ts := range out {
			if i > 0 && ts.Compare(out[i-1]) <= 0 {
				t.Fatalf("goroutine %d call %d: %s after %s", g, i, ts, out[i-1])
			}
			if prev, dup := seen[ts]; dup {
				t.Fatalf("duplicate %s from goroutines %d and %d", ts, prev, g)
			}
			seen[ts] = g
		}
	}
	if len(seen) != goroutines*calls {
		t.Fatalf("%d distinct timestamps, want %d", len(seen), goroutines*calls)
	}
}

func TestNowDoesNotAllocate(t *testing.T) {
	for name, p := range map[string]clock.Physical{"manual": clock.NewManual(1), "system": clock.System()} {
		c, err := clock.New(clock.Config{Replica: self, Physical: p, MaxDrift: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(1000, func() { c.Now() }); n != 0 {
			t.Errorf("%s: Now() allocates %v times per call", name, n)
		}
		remote := clock.Timestamp{Wall: 1, Replica: other}
		if n := testing.AllocsPerRun(1000, func() { _ = c.Update(remote) }); n != 0 {
			t.Errorf("%s: successful Update allocates %v times per call", name, n)
		}
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  clock.Config
		ok   bool
	}{
		{"default", clock.DefaultConfig(self), true},
		{"nil physical defaults to the system clock", clock.Config{Replica: self, MaxDrift: time.Second}, true},
		{"zero replica", clock.Config{MaxDrift: time.Second}, false},
		{"zero drift", clock.Config{Replica: self}, false},
		{"negative drift", clock.Config{Replica: self, MaxDrift: -time.Second}, false},
		{"resume with negative wall", clock.Config{Replica: self, MaxDrift: time.Second, Resume: clock.Timestamp{Wall: -1, Replica: self}}, false},
		{"resume with wall past MaxWall", clock.Config{Replica: self, MaxDrift: time.Second, Resume: clock.Timestamp{Wall: clock.MaxWall + 1, Replica: self}}, false},
		{"resume at MaxWall", clock.Config{Replica: self, MaxDrift: time.Second, Resume: clock.Timestamp{Wall: clock.MaxWall, Replica: self}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			c, newErr := clock.New(tc.cfg)
			if tc.ok {
				if err != nil || newErr != nil {
					t.Fatalf("Validate: %v, New: %v; want both nil", err, newErr)
				}
				if c.Replica() != tc.cfg.Replica || c.MaxDrift() != tc.cfg.MaxDrift {
					t.Fatalf("clock reports replica %s drift %v, configured %s %v", c.Replica(), c.MaxDrift(), tc.cfg.Replica, tc.cfg.MaxDrift)
				}
				return
			}
			if !errors.Is(err, clock.ErrConfig) || !errors.Is(newErr, clock.ErrConfig) {
				t.Fatalf("Validate: %v, New: %v; want ErrConfig from both", err, newErr)
			}
		})
	}
	d := clock.DefaultConfig(self)
	if d.MaxDrift != 500*time.Millisecond || d.Physical == nil || d.Replica != self || !d.Resume.IsZero() {
		t.Fatalf("DefaultConfig = %+v", d)
	}
}

func TestManual(t *testing.T) {
	m := clock.NewManual(1000)
	m.Advance(1500 * time.Microsecond)
	if got := m.NowMillis(); got != 1001 {
		t.Fatalf("after Advance(1.5ms): %d, want 1001", got)
	}
	m.Advance(-2 * time.Second)
	if got := m.NowMillis(); got != -999 {
		t.Fatalf("after Advance(-2s): %d, want -999", got)
	}
	m.Set(42)
	if got := m.NowMillis(); got != 42 {
		t.Fatalf("after Set(42): %d", got)
	}
	var zero clock.Manual
	if got := zero.NowMillis(); got != 0 {
		t.Fatalf("zero Manual reads %d", got)
	}
}

func TestSystemIsRecent(t *testing.T) {
	// 2020-01-01 in ms; the system clock of any machine running this is later.
	if got := clock.System().NowMillis(); got < 1_577_836_800_000 || got > clock.MaxWall {
		t.Fatalf("System().NowMillis() = %d, not a plausible current time", got)
	}
}

func TestDriftErrorMessage(t *testing.T) {
	e := &clock.DriftError{Remote: clock.Timestamp{Wall: 1600, Replica: other}, Physical: 1000, MaxDrift: 500 * time.Millisecond}
	want := "clock: remote timestamp too far ahead of physical time: remote 000000000640.0000.0000000000000002 is 600ms ahead of physical time 1000 (max drift 500ms)"
	if e.Error() != want {
		t.Fatalf("Error() = %q\nwant      %q", e.Error(), want)
	}
	if !errors.Is(e, clock.ErrDrift) || errors.Is(e, clock.ErrMalformed) {
		t.Fatalf("errors.Is mismatch")
	}
}

// TestEchoExemptFromDrift: after a restart whose physical clock is far behind
// Resume, echoes of our own timestamps are still accepted, while another
// replica's timestamp at the same wall is still a drift error.
func TestEchoExemptFromDrift(t *testing.T) {
	resume := clock.Timestamp{Wall: 100_000, Logical: 4, Replica: self}
	c, _ := newManualClock(t, 1_000, 500*time.Millisecond, resume)
	if err := c.Update(resume); err != nil {
		t.Fatalf("Update(own echo 99s ahead of physical time): %v", err)
	}
	foreign := clock.Timestamp{Wall: 100_000, Logical: 4, Replica: other}
	if err := c.Update(foreign); !errors.Is(err, clock.ErrDrift) {
		t.Fatalf("Update(%s): %v, want ErrDrift", foreign, err)
	}
}
