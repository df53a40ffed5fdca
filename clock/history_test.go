package clock_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

const (
	self  clock.ReplicaID = 1
	other clock.ReplicaID = 2
)

// step is one event of a history: at physical time pt (ms), either a send
// (Now) or the receipt of remote (Update); then the clock's (wall, logical)
// must be want, or Update must fail with err and leave it as it was.
type step struct {
	event  string // "send" or "recv"
	pt     int64
	remote clock.Timestamp
	want   [2]int64 // wall, logical
	err    error
}

func send(pt, wall, logical int64) step {
	return step{event: "send", pt: pt, want: [2]int64{wall, logical}}
}

func recv(pt, rWall int64, rLogical uint16, wall, logical int64) step {
	return step{event: "recv", pt: pt, remote: clock.Timestamp{Wall: rWall, Logical: rLogical, Replica: other}, want: [2]int64{wall, logical}}
}

func recvErr(pt int64, remote clock.Timestamp, err error) step {
	return step{event: "recv", pt: pt, remote: remote, err: err}
}

// newManualClock returns a clock for replica self on a Manual at pt, with
// MaxDrift drift and the given Resume.
func newManualClock(t testing.TB, pt int64, drift time.Duration, resume clock.Timestamp) (*clock.Clock, *clock.Manual) {
	t.Helper()
	m := clock.NewManual(pt)
	c, err := clock.New(clock.Config{Replica: self, Physical: m, MaxDrift: drift, Resume: resume})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, m
}

// runHistory plays steps against a fresh clock and checks each outcome.
func runHistory(t *testing.T, drift time.Duration, resume clock.Timestamp, steps []step) {
	t.Helper()
	c, m := newManualClock(t, 0, drift, resume)
	for i, s := range steps {
		m.Set(s.pt)
		before := c.Last()
		where := fmt.Sprintf("step %d (%s at pt=%d, remote %s)", i, s.event, s.pt, s.remote)
		switch s.event {
		case "send":
			got := c.Now()
			if got != c.Last() {
				t.Fatalf("%s: Now() = %s but Last() = %s", where, got, c.Last())
			}
			if got.Replica != self {
				t.Fatalf("%s: Now() replica %s, want %s", where, got.Replica, self)
			}
		case "recv":
			checkErr := c.Check(s.remote)
			if c.Last() != before {
				t.Fatalf("%s: Check changed the clock from %s to %s", where, before, c.Last())
			}
			err := c.Update(s.remote)
			if !errors.Is(err, s.err) || (err == nil) != (s.err == nil) {
				t.Fatalf("%s: Update error %v, want %v", where, err, s.err)
			}
			if !errors.Is(checkErr, s.err) || (checkErr == nil) != (s.err == nil) {
				t.Fatalf("%s: Check error %v, want %v", where, checkErr, s.err)
			}
			if err != nil {
				if c.Last() != before {
					t.Fatalf("%s: rejected Update changed the clock from %s to %s", where, before, c.Last())
				}
				continue
			}
		default:
			t.Fatalf("%s: unknown event", where)
		}
		got := c.Last()
		if got.Wall != s.want[0] || int64(got.Logical) != s.want[1] {
			t.Fatalf("%s: clock at (%d, %d), want (%d, %d)", where, got.Wall, got.Logical, s.want[0], s.want[1])
		}
	}
}

// TestHistories checks the send and receive rules of Kulkarni et al. (2014),
// Figure 5, one branch at a time:
//
//	send:    l' = l; l = max(l', pt); c = (l == l') ? c+1 : 0
//	receive: l' = l; l = max(l', l_m, pt)
//	         c = l == l' == l_m ? max(c, c_m)+1
//	           : l == l'        ? c+1
//	           : l == l_m       ? c_m+1
//	           :                  0
func TestHistories(t *testing.T) {
	ts := func(w int64, l uint16, r clock.ReplicaID) clock.Timestamp {
		return clock.Timestamp{Wall: w, Logical: l, Replica: r}
	}
	cases := []struct {
		name   string
		drift  time.Duration
		resume clock.Timestamp
		steps  []step
	}{
		{name: "send: physical time ahead resets logical", steps: []step{
			send(10, 10, 0), send(10, 10, 1), send(11, 11, 0), send(11, 11, 1), send(11, 11, 2), send(20, 20, 0),
		}},
		{name: "send: physical time behind keeps wall and counts", steps: []step{
			send(10, 10, 0), send(5, 10, 1), send(9, 10, 2), send(10, 10, 3), send(12, 12, 0),
		}},
		{name: "send: first event at the epoch", steps: []step{
			send(0, 0, 1), send(0, 0, 2), send(1, 1, 0),
		}},
		{name: "receive: physical time largest", steps: []step{
			send(10, 10, 0), recv(20, 15, 7, 20, 0), send(20, 20, 1),
		}},
		{name: "receive: remote wall largest takes c_m+1", steps: []step{
			send(10, 10, 0), recv(12, 14, 3, 14, 4), send(13, 14, 5), send(15, 15, 0),
		}},
		{name: "receive: local wall largest takes c+1", steps: []step{
			send(10, 10, 0), send(10, 10, 1), recv(9, 8, 9, 10, 2), send(9, 10, 3),
		}},
		{name: "receive: equal walls take max counter + 1", steps: []step{
			send(10, 10, 0), recv(10, 10, 5, 10, 6), recv(10, 10, 2, 10, 7), recv(8, 10, 7, 10, 8),
		}},
		{name: "receive: remote equal to the clock", steps: []step{
			send(10, 10, 0), send(10, 10, 1), recv(10, 10, 1, 10, 2),
		}},
		{name: "receive: remote older than everything", steps: []step{
			send(100, 100, 0), recv(100, 3, 9, 100, 1), recv(101, 3, 9, 101, 0),
		}},
		{name: "three-replica relay (a message chain through us)", steps: []step{
			// We are behind: the message from a replica 40ms ahead lifts us,
			// our sends stay above it until physical time passes it.
			send(1000, 1000, 0), recv(1001, 1040, 0, 1040, 1), send(1002, 1040, 2),
			recv(1003, 1040, 9, 1040, 10), send(1041, 1041, 0),
		}},
		{name: "drift boundary: exactly MaxDrift ahead accepted, one more rejected", drift: 500 * time.Millisecond, steps: []step{
			send(1000, 1000, 0),
			recvErr(1000, ts(1501, 0, other), clock.ErrDrift),
			recv(1000, 1500, 0, 1500, 1),
			recvErr(1000, ts(1501, 0, other), clock.ErrDrift),
			send(1000, 1500, 2),
			recv(1001, 1501, 0, 1501, 1),
		}},
		{name: "overflow: send carries into the next millisecond", resume: ts(50, 65534, self), steps: []step{
			send(50, 50, 65535), send(50, 51, 0), send(50, 51, 1), send(51, 51, 2),
		}},
		{name: "overflow: receive carries into the next millisecond", steps: []step{
			send(50, 50, 0), recv(50, 50, 65535, 51, 0), send(51, 51, 1),
		}},
		{name: "gossip echo of our own timestamps", steps: []step{
			send(10, 10, 0), send(10, 10, 1),
			{event: "recv", pt: 10, remote: ts(10, 0, self), want: [2]int64{10, 2}},
			{event: "recv", pt: 10, remote: ts(10, 2, self), want: [2]int64{10, 3}},
			recvErr(10, ts(10, 4, self), clock.ErrReplicaCollision),
			recvErr(10, ts(11, 0, self), clock.ErrReplicaCollision),
		}},
		{name: "malformed remotes", steps: []step{
			send(10, 10, 0),
			recvErr(10, ts(-1, 0, other), clock.ErrMalformed),
			recvErr(10, ts(clock.MaxWall+1, 0, other), clock.ErrMalformed),
			recvErr(10, ts(5, 0, 0), clock.ErrMalformed),
			recvErr(10, clock.Timestamp{}, clock.ErrMalformed),
			send(10, 10, 1),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			drift := tc.drift
			if drift == 0 {
				drift = time.Hour
			}
			runHistory(t, drift, tc.resume, tc.steps)
		})
	}
}
