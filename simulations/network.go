package simulations

import "math/rand/v2"

// network applies the scenario's network and its windowed faults to each
// message. Windowed faults are switched on and off by fault events; the
// state here is what is in force now.
//
// Model, and where it simplifies:
//   - Gossip packets (UDP) suffer loss, burst loss, delay, jitter,
//     duplication and reordering. Reliable messages (TCP streams) are not
//     lost or duplicated (TCP retransmits) but take StreamLatency plus the
//     current jitter; a partition or a dead peer fails them.
//   - Burst loss is a Gilbert-Elliott chain per sending node (not per link,
//     which would need N^2 state): in the bad state a packet is lost with
//     BadLoss, in the good state with the uniform loss.
//   - Partitions cut both gossip and streams, at send time.
type network struct {
	rng      *rand.Rand
	base     NetworkParams
	initialN int

	active []activeFault // windowed faults in force, in start order
	geBad  []bool        // per-sender Gilbert-Elliott state

	dropsLoss uint64
	dropsPart uint64
	dups      uint64
	reordered uint64
}

// activeFault is a windowed fault in force; id is its index in the
// scenario's timeline, so its end removes exactly it.
type activeFault struct {
	id int
	f  Fault
}

func (n *network) start(id int, f Fault) { n.active = append(n.active, activeFault{id, f}) }

func (n *network) stop(id int) {
	for i := range n.active {
		if n.active[i].id == id {
			n.active = append(n.active[:i], n.active[i+1:]...)
			return
		}
	}
}

func (n *network) side(i int) int {
	if i < n.initialN {
		if i < n.initialN/2 {
			return 0
		}
		return 1
	}
	return i % 2
}

// reachable reports whether a message from a can reach b now.
func (n *network) reachable(a, b int, now int64) bool {
	for i := range n.active {
		f := &n.active[i].f
		mode := f.Mode
		switch f.Kind {
		case FaultFlap:
			if ((now-f.At.Micros())/f.Period.Micros())%2 == 1 {
				continue // healed in odd periods
			}
			mode = "halves"
		case FaultPartition:
		default:
			continue
		}
		switch mode {
		case "halves":
			if n.side(a) != n.side(b) {
				return false
			}
		case "bridge":
			if a != f.Node && b != f.Node && n.side(a) != n.side(b) {
				return false
			}
		case "oneway":
			if n.side(a) == 0 && n.side(b) == 1 {
				return false
			}
		case "isolate":
			if (a == f.Node) != (b == f.Node) {
				return false
			}
		}
	}
	return true
}

// last returns the most recently started active fault of kind.
func (n *network) last(kind string) *Fault {
	for i := len(n.active) - 1; i >= 0; i-- {
		if n.active[i].f.Kind == kind {
			return &n.active[i].f
		}
	}
	return nil
}

func (n *network) latency() (lat, jit int64) {
	lat, jit = n.base.Latency.Micros(), n.base.Jitter.Micros()
	if d := n.last(FaultDelay); d != nil {
		lat, jit = d.Latency.Micros(), d.Jitter.Micros()
	}
	return lat, jit
}

func (n *network) delay(lat, jit int64) int64 {
	if jit > 0 {
		lat += n.rng.Int64N(jit)
	}
	return max(lat, 1)
}

// packet appends the delays (µs) of the copies of one gossip packet from a
// to b that arrive: none when lost, two when duplicated.
func (n *network) packet(a, b int, now int64, dst []int64) []int64 {
	if !n.reachable(a, b, now) {
		n.dropsPart++
		return dst
	}
	loss := n.base.Loss
	dup := 0.0
	for i := range n.active {
		switch f := &n.active[i].f; f.Kind {
		case FaultLoss:
			loss = max(loss, f.Rate)
		case FaultDuplicate:
			dup = max(dup, f.Rate)
		}
	}
	if f := n.last(FaultBurstLoss); f != nil {
		for len(n.geBad) <= a {
			n.geBad = append(n.geBad, false)
		}
		if n.geBad[a] {
			if n.rng.Float64() < f.ExitBad {
				n.geBad[a] = false
			}
		} else if n.rng.Float64() < f.EnterBad {
			n.geBad[a] = true
		}
		if n.geBad[a] {
			loss = max(loss, f.BadLoss)
		} else {
			loss = max(loss, f.Rate)
		}
	}
	if loss > 0 && n.rng.Float64() < loss {
		n.dropsLoss++
		return dst
	}
	lat, jit := n.latency()
	copies := 1
	if dup > 0 && n.rng.Float64() < dup {
		copies = 2
		n.dups++
	}
	for range copies {
		d := n.delay(lat, jit)
		if r := n.last(FaultReorder); r != nil && n.rng.Float64() < r.Rate {
			d += 1 + n.rng.Int64N(r.Extra.Micros())
			n.reordered++
		}
		dst = append(dst, d)
	}
	return dst
}

// stream returns the delay of a reliable message from a to b, or false if
// it cannot be delivered (partition).
func (n *network) stream(a, b int, now int64) (int64, bool) {
	if !n.reachable(a, b, now) {
		n.dropsPart++
		return 0, false
	}
	lat, jit := n.latency()
	return n.delay(max(n.base.StreamLatency.Micros(), 3*lat), jit), true
}
