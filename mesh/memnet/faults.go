package memnet

import (
	"net/netip"
	"time"
)

// planLocked decides the fate of one packet from `from` to address `to`:
// it returns the destination (nil if unknown) and either the number of
// copies to deliver (1 or 2) with their delays, or 0 copies and the drop
// reason. Checks that need no randomness come first, so a packet that is
// dropped for a topology reason consumes no random numbers. n.mu must be
// held.
func (n *Network) planLocked(from *Transport, to netip.AddrPort, size int, delays *[2]time.Duration) (*Transport, int, dropReason) {
	if n.closed || from.closed {
		return nil, 0, dropClosed
	}
	if size > n.cfg.MaxPacketSize {
		return nil, 0, dropOversize
	}
	dest := n.byAddr[to]
	switch {
	case dest == nil:
		return nil, 0, dropNoRoute
	case dest.closed:
		return dest, 0, dropClosed
	case n.parts.cut(from.name, dest.name):
		return dest, 0, dropPartition
	}
	l := link{from.name, dest.name}
	f, ok := n.perLink[l]
	if !ok {
		f = n.faults
	}
	if n.lostLocked(l, f) {
		return dest, 0, dropLoss
	}
	copies := 1
	if f.Duplicate > 0 && n.rng.Float64() < f.Duplicate {
		copies = 2
	}
	for i := range copies {
		delays[i] = n.delayLocked(f)
	}
	return dest, copies, 0
}

// lostLocked applies uniform and Gilbert–Elliott loss to one packet on l and
// advances l's burst state. n.mu must be held.
func (n *Network) lostLocked(l link, f LinkFaults) bool {
	lost := f.Loss > 0 && n.rng.Float64() < f.Loss
	if !f.Burst.Enabled() {
		return lost
	}
	bad := n.badState[l]
	p := f.Burst.LossGood
	if bad {
		p = f.Burst.LossBad
	}
	if p > 0 && n.rng.Float64() < p {
		lost = true
	}
	if bad {
		bad = !(f.Burst.BadToGood > 0 && n.rng.Float64() < f.Burst.BadToGood)
	} else {
		bad = f.Burst.GoodToBad > 0 && n.rng.Float64() < f.Burst.GoodToBad
	}
	if bad {
		n.badState[l] = true
	} else {
		delete(n.badState, l)
	}
	return lost
}

// delayLocked draws one copy's delay. n.mu must be held.
func (n *Network) delayLocked(f LinkFaults) time.Duration {
	d := f.Delay
	if f.Jitter > 0 {
		var j float64
		switch f.JitterDist {
		case Normal:
			j = n.rng.NormFloat64()
		default:
			j = 2*n.rng.Float64() - 1
		}
		d += time.Duration(j * float64(f.Jitter))
	}
	if d < 0 {
		d = 0
	}
	if f.Reorder > 0 && n.rng.Float64() < f.Reorder {
		d += f.ReorderDelay
	}
	return d
}

// deliver hands one packet copy to its destination's PacketCh, or drops it.
// With recheck (delayed copies) the link is checked again, so a partition
// that started while the copy was in flight drops it.
func (n *Network) deliver(f *flight, recheck bool) {
	if recheck {
		n.mu.Lock()
		cut := n.parts.cut(f.from.name, f.to.name)
		n.mu.Unlock()
		if cut {
			n.dropped(f.from, f.to.name, dropPartition)
			return
		}
	}
	if reason, ok := f.to.enqueue(f.buf, f.from.udpAddr); !ok {
		n.dropped(f.from, f.to.name, reason)
		return
	}
	size := uint64(len(f.buf))
	f.from.stats.delivered.Add(1)
	f.from.stats.bytesDelivered.Add(size)
	f.to.stats.received.Add(1)
	f.to.stats.bytesReceived.Add(size)
}

// dropped counts and logs one dropped copy sent by from.
func (n *Network) dropped(from *Transport, to string, reason dropReason) {
	from.stats.dropped[reason].Add(1)
	n.logDrop(from.name, to, reason)
}
