package simulations

import (
	"cmp"
	"math"
	"slices"

	"github.com/syncmesh/syncmesh/mesh"
)

// bcast is one broadcast message, interned: every node that queues the same
// key with the same bytes queues the same *bcast (the core re-gossips a
// change's bytes unchanged). Announcements share a key per replica but
// differ in sender and sequence, so they are not shared.
type bcast struct {
	key  string
	size int32 // len(msg), or the encoded length of an announcement given without bytes
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
	// announce is set for an Announce message of replica ridx up to end:
	// a node holding that much drops it, as the core would (it counts a
	// duplicate and does nothing else).
	announce bool
	ridx     int32
	end      uint64
	// slot is b's place in the bcastTable while queue entries refer to
	// it, else -1.
	slot int32
	// aid numbers an announcement's key ("a/<replica>", one per
	// replica, replaced at every advance): the Sim uses the replica's
	// number, ridx. It is -1 for other broadcasts. Queues find a queued
	// announcement by it in a small per-queue slice instead of by key.
	aid int32
}

// bcastTable numbers the broadcasts that queues hold, so that queue
// entries carry an index instead of a pointer: buckets hold no pointers,
// so moving entries needs no write barriers and the collector does not
// scan them (10,000 queues of up to hundreds of entries each). A slot is
// freed when the last entry referring to it leaves its queue.
type bcastTable struct {
	tab []*bcast
	// refs counts the queue entries referring to each slot: kept here,
	// not in the broadcast, so that an entry leaving its queue touches
	// one array instead of the broadcast too.
	refs []int32
	free []int32
}

// ref takes a reference to b for a queue entry and returns its slot.
func (t *bcastTable) ref(b *bcast) int32 {
	if b.slot < 0 {
		if n := len(t.free); n > 0 {
			b.slot = t.free[n-1]
			t.free = t.free[:n-1]
			t.tab[b.slot] = b
		} else {
			b.slot = int32(len(t.tab))
			t.tab = append(t.tab, b)
			t.refs = append(t.refs, 0)
		}
	}
	t.refs[b.slot]++
	return b.slot
}

// unref drops a queue entry's reference to the broadcast in slot.
func (t *bcastTable) unref(slot int32) {
	if t.refs[slot]--; t.refs[slot] == 0 {
		t.tab[slot].slot = -1
		t.tab[slot] = nil
		t.free = append(t.free, slot)
	}
}

// keyTable numbers broadcast keys.
type keyTable = denseIDs[string]

// packet is one gossip packet's messages. The copies the network delivers
// (one, or two when duplicated) share it; the last one handled returns it
// to the pool, so a run does not allocate a slice per packet.
type packet struct {
	msgs []pent
	refs int32 // copies still in flight
}

// pent is one message of a packet: its broadcast and, copied from its
// queue entry (qent), what the receiver's duplicate check needs, so that
// a message the receiver holds already (most of them: each change
// reaches every node about twenty times) is dropped without loading its
// broadcast, a cache miss per message per delivery at 10,000 nodes.
type pent struct {
	*bcast
	// end is the broadcast's end (bcast.end) when it is a change or an
	// announcement whose end fits in 32 bits, else 0: then the receiver
	// reads the broadcast.
	end  uint32
	ridx int32 // bcast.ridx, with end
	ann  bool  // an announcement (bcast.announce), with end
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

// qent is a broadcast in one node's queue, held by value in its transmit
// bucket: filling a packet scans sizes that sit side by side in memory.
// With items behind pointers every size read was a cache miss (10,000
// queues do not stay in cache), 17.5 s of the 10,000-node run's 31 s in
// take. It holds no pointer (see bcastTable).
type qent struct {
	id   uint32 // insertion order: newer is larger; unique per queue (see nextID)
	size int32  // b.size, kept here so that filling a packet need not visit b
	kid  int32  // b.kid
	slot int32  // b's bcastTable slot
	aid  int32  // b.aid
	// end and ridx are b's, for its packet entries (pent.end, ridx):
	// end 0 when b is neither a change nor an announcement or its end
	// does not fit.
	end  uint32
	ridx int32
}

// newQent is the queue entry for b, numbered id, referring to slot.
func newQent(b *bcast, id uint32, slot int32) qent {
	e := qent{id: id, size: b.size, kid: b.kid, slot: slot, aid: b.aid}
	if (b.change || b.announce) && b.end <= math.MaxUint32 {
		e.end, e.ridx = uint32(b.end), b.ridx
	}
	return e
}

// entry is the packet entry for e, whose broadcast is b.
func (e *qent) entry(b *bcast) pent {
	return pent{bcast: b, end: e.end, ridx: e.ridx, ann: e.aid >= 0}
}

// gossipQueue models memberlist's TransmitLimitedQueue: each broadcast is
// handed out at most limit times; GetBroadcasts fills a packet with the
// fewest-transmitted broadcasts first, newest first among equals, skipping
// those that do not fit; a broadcast with the key of a queued one replaces
// it; beyond the queue limit the most-transmitted, oldest are pruned.
//
// Items are kept by value in buckets by transmit count, each bucket in
// insertion (id) order, so filling a packet reads one contiguous slice per
// bucket and moves only the items it takes.
type gossipQueue struct {
	buckets [][]qent
	// least[t] is at most the smallest size in buckets[t] (the smallest
	// put there since it was last empty): when the room left is below it,
	// nothing in the bucket fits and take skips it without reading it.
	least []int32
	// keyed has bit kid set once a broadcast with key number kid (not an
	// announcement) was queued here: a broadcast replaces the queued one
	// with its key, as memberlist's NamedBroadcast, and a clear bit says
	// there is none without a lookup. Only a set bit sends queued to
	// look through the entries, and that is rare: a node queues each
	// change's key once, unless its seen set was cleared meanwhile.
	// (A map from key to entry, one of 10,000 cold maps, was read and
	// written for every broadcast queued: 6 s of the 10,000-node run.)
	keyed []uint64
	// ann is, by aid, the id of the entry last queued under that
	// announcement key (it may have left the queue since: checked on
	// use), and annAt the bucket it was last moved to: replacing a
	// queued announcement (at every advance of its replica) searches
	// that bucket only, where probing every bucket's first and last id
	// was a cache miss per bucket (9 s of the 10,000-node run).
	ann   []uint32
	annAt []int32
	// n counts the live entries; stale counts the entries still in a
	// bucket that a newer announcement with their key replaced. A
	// replaced announcement is not searched for and cut out of its
	// bucket at once (a binary search and a move in a bucket out of
	// cache, for every announcement queued at 10,000 nodes: 11 s of the
	// run): it is stale once ann names another id, every reader skips
	// it, and take, pruneOne and sweep drop it when they pass it. ann
	// is 0 when the entry it named left the queue, so that a newer
	// announcement knows whether it replaces a live one.
	n     int
	stale int
	// nextID numbers the entries queued (from 1). 32 bits, so that ann
	// (read for every announcement a packet passes) and the entries are
	// smaller: a node would have to queue 4 billion broadcasts to wrap it,
	// which queue refuses (a broken invariant) rather than misorder.
	nextID uint32
	moved  []qent // scratch for take, kept to save an allocation per packet
	from   []int  // scratch for take: where each bucket's entries start in moved
	// tab is the broadcasts' table, shared by every node's queue (a
	// queue makes its own when it has none).
	tab *bcastTable
}

func (q *gossipQueue) len() int { return q.n }

// retransmitLimit is memberlist's retransmit limit for n nodes.
func retransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

// queue adds b with zero transmits, replacing a queued broadcast with the
// same key. It returns the number of items pruned to stay within limit.
func (q *gossipQueue) queue(b *bcast, limit int) int {
	if q.tab == nil {
		q.tab = new(bcastTable)
	}
	if b.aid >= 0 {
		if int(b.aid) < len(q.ann) && q.ann[b.aid] != 0 {
			// The live entry with this key goes stale (below, when ann
			// names the new one).
			q.n--
			q.stale++
		}
	} else if t, i, found := q.locate(b); found {
		q.removeAt(t, i)
	}
	if q.nextID == math.MaxUint32 {
		panic("simulations: a gossip queue numbered 2^32 broadcasts")
	}
	q.nextID++
	if len(q.buckets) == 0 {
		q.grow()
	}
	q.buckets[0] = append(q.buckets[0], newQent(b, q.nextID, q.tab.ref(b)))
	q.least[0] = min(q.least[0], b.size)
	if b.aid >= 0 {
		for len(q.ann) <= int(b.aid) {
			q.ann = append(q.ann, 0)
			q.annAt = append(q.annAt, 0)
		}
		q.ann[b.aid], q.annAt[b.aid] = q.nextID, 0
	} else {
		w := int(b.kid) / 64
		for len(q.keyed) <= w {
			q.keyed = append(q.keyed, 0)
		}
		q.keyed[w] |= 1 << (uint(b.kid) % 64)
	}
	q.n++
	pruned := 0
	for limit > 0 && q.n > limit {
		q.pruneOne()
		pruned++
	}
	if q.stale > q.n+staleSlack {
		q.sweep()
	}
	return pruned
}

// staleSlack is how many stale entries beyond the live ones a queue
// keeps before it sweeps them all out (sweep): their memory stays
// proportional to the queue's, at a cost of O(1) per replacement.
const staleSlack = 64

// isStale reports whether e is a replaced announcement (see n).
func (q *gossipQueue) isStale(e *qent) bool { return e.aid >= 0 && q.ann[e.aid] != e.id }

// dropStale releases stale entry e's table slot; the caller takes e
// out of its bucket.
func (q *gossipQueue) dropStale(e *qent) {
	q.tab.unref(e.slot)
	q.stale--
}

// left records that live entry e left the queue.
func (q *gossipQueue) left(e *qent) {
	if e.aid >= 0 && q.ann[e.aid] == e.id {
		q.ann[e.aid] = 0
	}
}

// sweep drops every stale entry.
func (q *gossipQueue) sweep() {
	for t, bk := range q.buckets {
		q.buckets[t] = slices.DeleteFunc(bk, func(e qent) bool {
			if q.isStale(&e) {
				q.dropStale(&e)
				return true
			}
			return false
		})
		if len(q.buckets[t]) == 0 {
			q.least[t] = math.MaxInt32
		}
	}
}

// locate finds the entry queued under b's key: its bucket and index.
func (q *gossipQueue) locate(b *bcast) (t, i int, found bool) {
	if b.aid >= 0 {
		if int(b.aid) >= len(q.ann) || q.ann[b.aid] == 0 {
			return 0, 0, false
		}
		t = int(q.annAt[b.aid])
		if t >= len(q.buckets) {
			return 0, 0, false
		}
		i, found = slices.BinarySearchFunc(q.buckets[t], q.ann[b.aid], cmpID)
		return t, i, found
	}
	w := int(b.kid) / 64
	if w >= len(q.keyed) || q.keyed[w]&(1<<(uint(b.kid)%64)) == 0 {
		return 0, 0, false
	}
	for t, bk := range q.buckets {
		for i, e := range bk {
			if e.kid == b.kid && e.aid < 0 {
				return t, i, true
			}
		}
	}
	return 0, 0, false
}

func cmpID(e qent, id uint32) int { return cmp.Compare(e.id, id) }

// removeAt drops live entry i of bucket t.
func (q *gossipQueue) removeAt(t, i int) {
	q.left(&q.buckets[t][i])
	q.tab.unref(q.buckets[t][i].slot)
	q.buckets[t] = slices.Delete(q.buckets[t], i, i+1)
	if len(q.buckets[t]) == 0 {
		q.least[t] = math.MaxInt32
	}
	q.n--
}

// pruneOne drops the oldest live item of the highest bucket holding one
// (and the stale ones it passes on the way).
func (q *gossipQueue) pruneOne() {
	for t := len(q.buckets) - 1; t >= 0; t-- {
		for len(q.buckets[t]) > 0 {
			if e := &q.buckets[t][0]; q.isStale(e) {
				q.dropStale(e)
				q.buckets[t] = slices.Delete(q.buckets[t], 0, 1)
				if len(q.buckets[t]) == 0 {
					q.least[t] = math.MaxInt32
				}
				continue
			}
			q.removeAt(t, 0)
			return
		}
	}
}

// transmits reports how often the entry queued under b's key was handed
// out, or false if none is queued.
func (q *gossipQueue) transmits(b *bcast) (int, bool) {
	t, _, found := q.locate(b)
	return t, found
}

// take fills one packet: up to room bytes, each message costing overhead
// plus its length, and counts one transmit for each message taken; a
// message reaching limit transmits leaves the queue. It appends to dst.
func (q *gossipQueue) take(dst []pent, room, overhead, limit int) ([]pent, int) {
	used := 0
	// Scan every bucket before moving anything up, so that an entry is
	// taken at most once per packet.
	moved := q.moved[:0]
	from := q.from[:0] // moved[from[t]:from[t+1]] came from bucket t
	for t := 0; t < len(q.buckets) && room-used > overhead; t++ {
		from = append(from, len(moved))
		bk := q.buckets[t]
		kept := len(bk)
		// An entry fits while room-used >= overhead+size: below the
		// bucket's least size none does.
		least := overhead + int(q.least[t])
		for i := len(bk) - 1; i >= 0 && room-used > overhead && room-used >= least; i-- {
			if q.isStale(&bk[i]) {
				q.dropStale(&bk[i])
				bk[i].id = 0 // out with the taken ones
				kept--
				continue
			}
			cost := overhead + int(bk[i].size)
			if used+cost > room {
				continue
			}
			used += cost
			dst = append(dst, bk[i].entry(q.tab.tab[bk[i].slot]))
			moved = append(moved, bk[i])
			bk[i].id = 0 // ids start at 1: marks it taken
			kept--
		}
		if kept != len(bk) {
			q.buckets[t] = slices.DeleteFunc(bk, func(e qent) bool { return e.id == 0 })
			if kept == 0 {
				q.least[t] = math.MaxInt32
			}
		}
	}
	top := len(from) // buckets scanned
	from = append(from, len(moved))
	// Move each bucket's taken entries (newest first) up one bucket,
	// merged into it by id, from the highest bucket down so a bucket's
	// own entries have left before the one below merges in.
	for t := top - 1; t >= 0; t-- {
		up := moved[from[t]:from[t+1]]
		if len(up) == 0 {
			continue
		}
		if t+1 >= limit {
			for _, e := range up {
				q.left(&e)
				q.tab.unref(e.slot)
			}
			q.n -= len(up)
			continue
		}
		for len(q.buckets) <= t+1 {
			q.grow()
		}
		q.buckets[t+1] = mergeDesc(q.buckets[t+1], up)
		for _, e := range up {
			q.least[t+1] = min(q.least[t+1], e.size)
			if e.aid >= 0 && q.ann[e.aid] == e.id {
				q.annAt[e.aid] = int32(t + 1)
			}
		}
	}
	q.moved, q.from = moved[:0], from[:0]
	return dst, used
}

// grow adds an empty bucket.
func (q *gossipQueue) grow() {
	q.buckets = append(q.buckets, nil)
	q.least = append(q.least, math.MaxInt32)
}

// mergeDesc merges up (descending ids) into bk (ascending ids).
func mergeDesc(bk, up []qent) []qent {
	i := len(bk) - 1
	bk = slices.Grow(bk, len(up))[:len(bk)+len(up)]
	w := len(bk) - 1
	for j := 0; j < len(up); w-- {
		if i >= 0 && bk[i].id > up[j].id {
			bk[w] = bk[i]
			i--
		} else {
			bk[w] = up[j]
			j++
		}
	}
	return bk
}
