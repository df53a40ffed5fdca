package simulations

import (
	"math"
	"slices"

	"github.com/syncmesh/syncmesh/mesh"
)

// bcast is one broadcast message, interned: every node that queues the same
// key with the same bytes queues the same *bcast (the core re-gossips a
// change's bytes unchanged). Announcements share a key per replica but
// differ in sender and sequence, so they are not shared.
type bcast struct {
	key string
	// kid numbers key (Sim.keys): queues look broadcasts up by it, an
	// integer map key instead of hashing the key string per queued item.
	kid int32
	msg []byte
	// dec is msg decoded once, shared read-only by every core it is
	// delivered to (mesh.Core.ReceiveDecoded); nil if msg did not decode.
	dec mesh.Message
	// change is set for a Change message: the node already holding
	// replica ridx (a replicaIndex position) up to end drops it as a
	// duplicate without decoding, exactly as the core would after decoding.
	change bool
	ridx   int32
	end    uint64
}

// keyTable numbers broadcast keys.
type keyTable = denseIDs[string]

// packet is one gossip packet's messages. The copies the network delivers
// (one, or two when duplicated) share it; the last one handled returns it
// to the pool, so a run does not allocate a slice per packet.
type packet struct {
	msgs []*bcast
	refs int32 // copies still in flight
}

// packetPool is a free list of packets.
type packetPool struct{ free []*packet }

func (p *packetPool) get() *packet {
	if len(p.free) == 0 {
		return new(packet)
	}
	pk := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return pk
}

// release drops one reference to pk and recycles it after the last.
func (p *packetPool) release(pk *packet) {
	if pk.refs--; pk.refs > 0 {
		return
	}
	clear(pk.msgs)
	pk.msgs, pk.refs = pk.msgs[:0], 0
	p.free = append(p.free, pk)
}

// qitem is a broadcast in one node's queue.
type qitem struct {
	b         *bcast
	size      int // len(b.msg), kept here so that filling a packet need not visit b
	transmits int
	id        uint64 // insertion order: newer is larger
}

// gossipQueue models memberlist's TransmitLimitedQueue: each broadcast is
// handed out at most limit times; GetBroadcasts fills a packet with the
// fewest-transmitted broadcasts first, newest first among equals, skipping
// those that do not fit; a broadcast with the key of a queued one replaces
// it; beyond the queue limit the most-transmitted, oldest are pruned.
//
// Items are kept in buckets by transmit count, each bucket in insertion
// order, so filling a packet touches only the items it takes (plus those
// skipped for size).
type gossipQueue struct {
	buckets [][]*qitem
	byKey   map[int32]*qitem // by broadcast key id, as memberlist's NamedBroadcast
	n       int
	nextID  uint64
	moved   []*qitem // scratch for take, kept to save an allocation per packet
	// pool, when set, recycles items between the queues of every node:
	// 10,000 nodes queue each change once, and the items are short-lived.
	pool *qitemPool
}

// qitemPool is a free list of queue items.
type qitemPool struct{ free []*qitem }

func (p *qitemPool) get() *qitem {
	if p == nil || len(p.free) == 0 {
		return new(qitem)
	}
	it := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return it
}

func (p *qitemPool) put(it *qitem) {
	if p != nil {
		*it = qitem{}
		p.free = append(p.free, it)
	}
}

func (q *gossipQueue) len() int { return q.n }

// retransmitLimit is memberlist's retransmit limit for n nodes.
func retransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

// queue adds b with zero transmits, replacing a queued broadcast with the
// same key. It returns the number of items pruned to stay within limit.
func (q *gossipQueue) queue(b *bcast, limit int) int {
	if q.byKey == nil {
		q.byKey = make(map[int32]*qitem)
	}
	if old, ok := q.byKey[b.kid]; ok {
		q.remove(old)
	}
	q.nextID++
	it := q.pool.get()
	it.b, it.size, it.id = b, len(b.msg), q.nextID
	if len(q.buckets) == 0 {
		q.buckets = append(q.buckets, nil)
	}
	q.buckets[0] = append(q.buckets[0], it)
	q.byKey[b.kid] = it
	q.n++
	pruned := 0
	for limit > 0 && q.n > limit {
		q.pruneOne()
		pruned++
	}
	return pruned
}

func (q *gossipQueue) remove(it *qitem) {
	bk := q.buckets[it.transmits]
	i := slices.Index(bk, it)
	q.buckets[it.transmits] = slices.Delete(bk, i, i+1)
	delete(q.byKey, it.b.kid)
	q.n--
	q.pool.put(it)
}

// pruneOne drops the oldest item of the highest non-empty bucket.
func (q *gossipQueue) pruneOne() {
	for t := len(q.buckets) - 1; t >= 0; t-- {
		if len(q.buckets[t]) > 0 {
			q.remove(q.buckets[t][0])
			return
		}
	}
}

// take fills one packet: up to room bytes, each message costing overhead
// plus its length, and counts one transmit for each message taken; a
// message reaching limit transmits leaves the queue. It appends to dst.
func (q *gossipQueue) take(dst []*bcast, room, overhead, limit int) ([]*bcast, int) {
	used := 0
	moved := q.moved[:0]
	for t := 0; t < len(q.buckets) && room-used > overhead; t++ {
		bk := q.buckets[t]
		kept := len(bk)
		for i := len(bk) - 1; i >= 0 && room-used > overhead; i-- {
			it := bk[i]
			cost := overhead + it.size
			if used+cost > room {
				continue
			}
			used += cost
			dst = append(dst, it.b)
			bk[i] = nil
			kept--
			moved = append(moved, it)
		}
		if kept != len(bk) {
			q.buckets[t] = slices.DeleteFunc(bk, func(it *qitem) bool { return it == nil })
		}
	}
	for _, it := range moved {
		it.transmits++
		if it.transmits >= limit {
			delete(q.byKey, it.b.kid)
			q.n--
			q.pool.put(it)
			continue
		}
		for len(q.buckets) <= it.transmits {
			q.buckets = append(q.buckets, nil)
		}
		// Keep each bucket in insertion order: items move up in the order
		// they were taken (newest first), so insert by id.
		bk := q.buckets[it.transmits]
		j, _ := slices.BinarySearchFunc(bk, it.id, func(x *qitem, id uint64) int {
			switch {
			case x.id < id:
				return -1
			case x.id > id:
				return 1
			}
			return 0
		})
		q.buckets[it.transmits] = slices.Insert(bk, j, it)
	}
	clear(moved)
	q.moved = moved[:0]
	return dst, used
}
