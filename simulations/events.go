package simulations

import "github.com/syncmesh/syncmesh/mesh"

// Event kinds.
const (
	evGossip uint8 = iota + 1 // a node's gossip round
	evTick                    // a node's core tick
	evPacket                  // a gossip packet arrives
	evStream                  // a reliable message arrives
	evWrite                   // the workload's next write
	evFault                   // a fault starts (phase 0) or ends (phase 1)
	evDetect                  // membership learns a node is gone
	evCheck                   // convergence poll
)

// event is one entry of the simulator's queue. Events run in (at, push
// order); ties break deterministically. Fields are ordered largest first
// so that the struct packs into 56 bytes (with padding between small and
// large fields it took 72).
type event struct {
	at  int64 // virtual time, microseconds
	pkt *packet
	// dec is a stream message as its sender built it (mesh.Send.Message),
	// delivered as it is: the simulator's cores measure the messages
	// they send but do not encode them (mesh.OutputPool.SizesOnly).
	dec  mesh.Message
	inc  uint32 // the node's incarnation when scheduled
	node int32
	from int32
	// size is a stream message's length in bytes (mesh.Send.Size).
	size  int32
	kind  uint8
	phase uint8
}

// eventQueue is a 4-ary min-heap of events by (at, push order). The heap
// holds only 16-byte keys; the events wait in a slab of slots reused
// through a free list, so sifting moves keys instead of whole events, and
// a node's four children are 64 bytes, about one cache line (24-byte keys
// spanned two or three). At 10,000 nodes the heap holds hundreds of
// thousands of events. Written out rather than using container/heap to
// avoid boxing.
type eventQueue struct {
	h    []hkey
	slab []event
	free []uint32
	seq  uint64
}

// hkey is an event's place in the heap: its time, then ord, which is the
// push sequence number above slotBits and the event's slab slot below, so
// that comparing ord compares push order.
type hkey struct {
	at  int64
	ord uint64
}

// slotBits is the width of the slot in hkey.ord: up to 64 M events in
// flight (a 10,000-node run has a few hundred thousand), and 2^38 pushes
// in a run.
const slotBits = 26

func (k hkey) slot() uint32 { return uint32(k.ord & (1<<slotBits - 1)) }

func (q *eventQueue) len() int { return len(q.h) }

func less(a, b *hkey) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.ord < b.ord
}

// heapArity is the heap's fan-out: four children per key, side by side,
// halve the depth of a binary heap. The heap holds hundreds of thousands
// of keys at 10,000 nodes, so each level below the cached top is a cache
// miss; the four children are one or two adjacent lines. Events pop in
// (at, push order), a total order, so the run is the same at any arity.
const heapArity = 4

func (q *eventQueue) push(e event) {
	q.seq++
	var slot uint32
	if n := len(q.free); n > 0 {
		slot = q.free[n-1]
		q.free = q.free[:n-1]
		q.slab[slot] = e
	} else {
		slot = uint32(len(q.slab))
		if slot >= 1<<slotBits {
			panic("simulations: more than 64 M events in flight")
		}
		q.slab = append(q.slab, e)
	}
	q.h = append(q.h, hkey{at: e.at, ord: q.seq<<slotBits | uint64(slot)})
	i := len(q.h) - 1
	k := q.h[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if !less(&k, &q.h[p]) {
			break
		}
		q.h[i] = q.h[p]
		i = p
	}
	q.h[i] = k
}

func (q *eventQueue) pop() event {
	top := q.h[0]
	last := len(q.h) - 1
	k := q.h[last]
	q.h = q.h[:last]
	if last > 0 {
		i := 0
		for {
			l := heapArity*i + 1
			if l >= last {
				break
			}
			m := l
			for c := l + 1; c < min(l+heapArity, last); c++ {
				if less(&q.h[c], &q.h[m]) {
					m = c
				}
			}
			if !less(&q.h[m], &k) {
				break
			}
			q.h[i] = q.h[m]
			i = m
		}
		q.h[i] = k
	}
	slot := top.slot()
	e := q.slab[slot]
	q.slab[slot] = event{} // drop its references (packet, bytes, message)
	q.free = append(q.free, slot)
	return e
}
