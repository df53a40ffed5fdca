package clock_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// paperModel is the HLC of Kulkarni et al. (2014), Figure 5, written out
// branch by branch as in the paper, with this package's additions spelled
// out separately: the 16-bit counter carrying into l, the drift rule against
// physical time, and the replica-collision rule. The Clock's packed
// one-expression form must agree with it step for step.
type paperModel struct {
	l     int64
	c     int64 // may reach 65536 before carry
	self  clock.ReplicaID
	drift int64
}

func (m *paperModel) carry() {
	if m.c > 65535 {
		m.l++
		m.c = 0
	}
}

func (m *paperModel) send(pt int64) {
	lOld := m.l
	m.l = max(lOld, pt)
	if m.l == lOld {
		m.c++
	} else {
		m.c = 0
	}
	m.carry()
}

func (m *paperModel) receive(pt int64, r clock.Timestamp) error {
	lm, cm := r.Wall, int64(r.Logical)
	if r.Replica == m.self && (lm > m.l || lm == m.l && cm > m.c) {
		return clock.ErrReplicaCollision
	}
	if r.Replica != m.self && lm-pt > m.drift {
		return clock.ErrDrift
	}
	lOld := m.l
	m.l = max(lOld, lm, pt)
	switch {
	case m.l == lOld && m.l == lm:
		m.c = max(m.c, cm) + 1
	case m.l == lOld:
		m.c++
	case m.l == lm:
		m.c = cm + 1
	default:
		m.c = 0
	}
	m.carry()
	return nil
}

// TestAgainstPaperModel drives a Clock and the paper model with the same
// random events (physical time wandering forwards and backwards, remotes
// near the clock so that equal walls and counters are common, counters near
// the carry) and requires identical state and identical accept/reject
// decisions.
func TestAgainstPaperModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 99))
		const drift = 20
		c, phys := newManualClock(t, 1000, drift*time.Millisecond, clock.Timestamp{})
		m := &paperModel{self: self, drift: drift}
		pt := int64(1000)
		for step := range 20_000 {
			pt = max(0, pt+rng.Int64N(9)-3) // mostly forwards, sometimes back
			phys.Set(pt)
			near := func(v, spread int64) int64 { return max(0, v+rng.Int64N(2*spread+1)-spread) }
			var err, want error
			var what string
			if rng.IntN(2) == 0 {
				what = "send"
				c.Now()
				m.send(pt)
			} else {
				r := clock.Timestamp{Wall: near(m.l-3, drift+5), Replica: other}
				switch rng.IntN(4) {
				case 0:
					r.Logical = uint16(near(m.c, 3))
				case 1:
					r.Logical = uint16(65535 - rng.IntN(3))
				default:
					r.Logical = uint16(rng.IntN(5))
				}
				if rng.IntN(8) == 0 {
					r.Replica = self
				}
				what = "receive " + r.String()
				err = c.Update(r)
				want = m.receive(pt, r)
			}
			if (err == nil) != (want == nil) || (want != nil && !errors.Is(err, want)) {
				t.Fatalf("seed %d step %d (%s, pt %d): Update error %v, model says %v", seed, step, what, pt, err, want)
			}
			if got := c.Last(); got.Wall != m.l || int64(got.Logical) != m.c {
				t.Fatalf("seed %d step %d (%s, pt %d): clock at (%d, %d), model at (%d, %d)",
					seed, step, what, pt, got.Wall, got.Logical, m.l, m.c)
			}
		}
	}
}
