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

// event is one entry of the simulator's queue. Events run in (at, seq)
// order; seq is the push order, so ties break deterministically.
type event struct {
	at    int64 // virtual time, microseconds
	seq   uint64
	kind  uint8
	phase uint8
	inc   uint32 // the node's incarnation when scheduled
	node  int32
	from  int32
	pkt   *packet
	msg   []byte
	// dec is msg as its sender built it (mesh.Send.Message), delivered
	// without decoding msg; nil: decode msg.
	dec mesh.Message
}

// eventQueue is a binary min-heap of events by (at, seq). It is written out
// rather than using container/heap to avoid boxing every event.
type eventQueue struct {
	h   []event
	seq uint64
}

func (q *eventQueue) len() int { return len(q.h) }

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q.h[i], &q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h[last] = event{}
	q.h = q.h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && less(&q.h[l], &q.h[m]) {
			m = l
		}
		if r < last && less(&q.h[r], &q.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
