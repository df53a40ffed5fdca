package mesh

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/syncmesh/syncmesh/clock"
)

// CoreConfig configures the protocol core. A plain value; NewCore copies it. Times are in milliseconds of
// whatever time base the driver passes to Receive and Tick (wall time for the
// Node, virtual time for simulations).
type CoreConfig struct {
	// Name is this node's name, put in the From field of messages that need
	// an answer. Required.
	Name string
	// FastPathBytes is the largest encoded Change message (bytes) that is
	// gossiped on memberlist's piggyback path; larger changes are announced
	// and fetched. Default 1024: memberlist packs gossip into ~1400-byte UDP
	// packets shared with its own membership messages.
	FastPathBytes int
	// AntiEntropyMillis is the time between anti-entropy rounds with a random
	// peer (ms). Default 1000.
	AntiEntropyMillis int64
	// BusyAntiEntropyMillis is the time between anti-entropy rounds while
	// the node has a gap: within the last AntiEntropyMillis a tick found
	// the document holding pending changes (waiting for earlier ones) with
	// no fetch outstanding that could bring them (ms).
	// Default AntiEntropyMillis/4, so holes left by dropped messages close
	// in a few short rounds instead of one per interval; an idle mesh still
	// pays one round per AntiEntropyMillis.
	BusyAntiEntropyMillis int64
	// GossipBytesPerSecond bounds the Change messages (bytes, own and
	// re-gossiped; each message counts at least gossipMinCharge bytes, as
	// memberlist limits transmissions per message) this node puts on the
	// gossip queue per second of core time, with a burst of one second's
	// worth. Over the budget a local change is announced instead (one
	// Announce per replica on the queue, replaced by the newest) and a
	// received change is not re-gossiped but announced once applied, so
	// peers fetch it over TCP. Default 8 KiB, 64 small changes a second:
	// memberlist's LAN gossip (fanout 3, 5 rounds/s, 1400-byte packets,
	// each message sent 8 times at N = 10) drains only about 40 new small
	// messages a second, so more only grows the queue into pruning.
	GossipBytesPerSecond int
	// ChunkBytes bounds the change data in one Changes message (bytes).
	// Default 64 KiB.
	ChunkBytes int
	// ChunksPerReply is how many Changes messages one digest or fetch is
	// answered with at most; the receiver asks for more with a new digest.
	// Default 4, so one reply is at most ~256 KiB and a slow peer is not
	// flooded.
	ChunksPerReply int
	// SnapshotMissingOps: when a peer's digest shows it lacks more than this
	// many operations, it is sent a snapshot instead of changes. Default
	// 50,000.
	SnapshotMissingOps uint64
	// FetchTimeoutMillis is how long a fetch for an announced change is
	// considered outstanding (ms): announcements of the same change within
	// that time do not trigger another fetch. Default 2000.
	FetchTimeoutMillis int64
	// RecentBytes bounds the change data (bytes) kept from recently applied
	// changes, local and remote, to answer fetches and repair streams for
	// recent operations without asking the document to re-encode them
	// (re-encoding for every fetcher was ~15% of the CPU of the throughput
	// benchmark). Default 8 MiB, about 140,000 single-write changes.
	RecentBytes int
	// RepairTimeoutMillis is how long an anti-entropy pull stream is
	// considered in flight after its last sign of life (the digest that
	// started it, or a chunk saying more follows) (ms). While one is in
	// flight no timer round starts another, so a node behind does not pull
	// the same ranges from several peers at once. A peer with nothing to
	// send does not answer, so this is also the longest a round to such a
	// peer delays the next. Default 2*BusyAntiEntropyMillis.
	RepairTimeoutMillis int64
	// RepairSettleMillis: an anti-entropy answer from the recent changes
	// that would take more than one reply (ChunksPerReply chunks) leaves
	// out the changes this node applied less than this long ago (ms);
	// fetch answers and small answers do not. Under sustained writes a
	// peer always lacks the last moments of every replica, which
	// announcements and fetches are bringing it; streaming them again in
	// every repair round, and continuing the stream while writes go on,
	// multiplied the change data each node received (three to five times
	// what it applied at 20,000 writes/s on ten nodes). Anything the fast
	// path lost goes in a round this much later. Small answers are sent
	// whole: at low rates repair of young changes is what closes the
	// epidemic's tail (holding them back always moved the 1,000-node
	// simulation's p99 from 1.2 to 2.0 s). Default 2*BusyAntiEntropyMillis.
	RepairSettleMillis int64
	// SeenCapacity bounds the ids of gossiped changes remembered so that
	// each is re-gossiped only once. Only changes the document does not
	// cover yet (pending) need remembering: the version vector rejects
	// the others, so an id is forgotten once its change is applied, and
	// all are forgotten when the bound is reached (a few changes may then
	// be re-gossiped twice). Default 65,536.
	SeenCapacity int
	// KeepPeerVersions keeps the last version vector each live peer sent
	// (digest or snapshot) for PeerVersions, which the Node's compaction
	// frontier reads. Default false: a mesh of N nodes then holds N
	// vectors of up to N entries on every node (O(N^2) each; at 1,000
	// simulated nodes it was gigabytes of live heap), and only compaction
	// needs them.
	KeepPeerVersions bool
	// Seed seeds the random peer choice (math/rand/v2 PCG).
	Seed uint64
	// Outputs, when set, supplies the slices of the Outputs the core
	// returns; the driver gives each Output back with Outputs.Put once
	// it has carried it out. Default nil: every Output has slices of its
	// own, which the driver may keep. A pool saves an allocation or
	// three per call for a driver of many cores in one loop (a
	// simulation).
	Outputs *OutputPool
}

// withDefaults returns c with zero fields set to their defaults.
func (c CoreConfig) withDefaults() CoreConfig {
	if c.FastPathBytes == 0 {
		c.FastPathBytes = 1024
	}
	if c.AntiEntropyMillis == 0 {
		c.AntiEntropyMillis = 1000
	}
	if c.BusyAntiEntropyMillis == 0 {
		c.BusyAntiEntropyMillis = max(1, c.AntiEntropyMillis/4)
	}
	if c.RepairTimeoutMillis == 0 {
		c.RepairTimeoutMillis = 2 * c.BusyAntiEntropyMillis
	}
	if c.RepairSettleMillis == 0 {
		c.RepairSettleMillis = 2 * c.BusyAntiEntropyMillis
	}
	if c.GossipBytesPerSecond == 0 {
		c.GossipBytesPerSecond = 8 << 10
	}
	if c.ChunkBytes == 0 {
		c.ChunkBytes = 64 << 10
	}
	if c.ChunksPerReply == 0 {
		c.ChunksPerReply = 4
	}
	if c.SnapshotMissingOps == 0 {
		c.SnapshotMissingOps = 50_000
	}
	if c.FetchTimeoutMillis == 0 {
		c.FetchTimeoutMillis = 2000
	}
	if c.SeenCapacity == 0 {
		c.SeenCapacity = 1 << 16
	}
	if c.RecentBytes == 0 {
		c.RecentBytes = 8 << 20
	}
	return c
}

// validate checks a defaulted CoreConfig.
func (c CoreConfig) validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: empty node name", ErrConfig)
	case len(c.Name) > MaxNameBytes:
		return fmt.Errorf("%w: node name longer than %d bytes", ErrConfig, MaxNameBytes)
	case c.FastPathBytes < 0 || c.ChunkBytes < 0 || c.ChunksPerReply < 0 || c.SeenCapacity < 0 ||
		c.GossipBytesPerSecond < 0 || c.RecentBytes < 0:
		return fmt.Errorf("%w: negative size", ErrConfig)
	case c.AntiEntropyMillis < 0 || c.BusyAntiEntropyMillis < 0 || c.FetchTimeoutMillis < 0 || c.RepairTimeoutMillis < 0 ||
		c.RepairSettleMillis < 0:
		return fmt.Errorf("%w: negative interval", ErrConfig)
	}
	return nil
}

// Broadcast is an output of the core: queue Msg on the gossip queue
// (memberlist's TransmitLimitedQueue), replacing any queued broadcast with the
// same Key. A plain value; Msg may be bytes the core was given (a
// re-gossiped change), so it is read-only.
type Broadcast struct {
	Key string
	// Msg is the message's wire bytes; nil for an announcement when the
	// core's OutputPool is SizesOnly (EncodedSize(Message) is its length).
	Msg []byte
	// Message is what Msg encodes, as for Send.Message: for a driver
	// that hands broadcasts to cores in the same process without
	// decoding them. Read-only.
	Message Message
}

// Send is an output of the core: send Msg to the peer named To, over the
// reliable (stream) channel when Reliable is set, else best effort. A plain
// value.
type Send struct {
	To       string
	Reliable bool
	// Msg is the message's wire bytes; nil when the core's OutputPool
	// is SizesOnly.
	Msg []byte
	// Size is the length of Msg, or of the bytes Msg would hold when
	// the pool left it nil.
	Size int
	// Message is what Msg encodes, for a driver that delivers it to
	// another core in the same process (ReceiveDecoded) instead of
	// decoding Msg there; drivers that send bytes ignore it. Read-only:
	// the core does not modify it after returning it, and its change
	// data and version vectors may be shared with the core.
	Message Message
}

// Output is what one call into the core asks the driver to do, in order:
// queue the broadcasts, send the messages, and hand the applied effects to
// watchers. Byte slices in it are owned by the driver. A plain value, not
// safe for concurrent mutation.
type Output struct {
	Broadcasts []Broadcast
	Sends      []Send
	Applied    []Applied
}

// send appends a reliable Send of m to out: encoded, or only measured
// when the core's OutputPool says so (OutputPool.SizesOnly).
func (c *Core) send(out *Output, to string, m Message) {
	if p := c.cfg.Outputs; p != nil && p.SizesOnly {
		out.Sends = append(out.Sends, Send{To: to, Reliable: true, Size: EncodedSize(m), Message: m})
		return
	}
	b := Encode(m)
	out.Sends = append(out.Sends, Send{To: to, Reliable: true, Msg: b, Size: len(b), Message: m})
}

func (o *Output) applied(a Applied) {
	if a.Changes > 0 || len(a.Patches) > 0 {
		o.Applied = append(o.Applied, a)
	}
}

// CoreStats are the core's counters, all monotonic except the gauges noted.
// Core.Stats returns a copy the caller owns.
type CoreStats struct {
	// Received counts accepted messages by type.
	Received map[MsgType]uint64
	// ReceivedBytes counts bytes of accepted messages by type.
	ReceivedBytes map[MsgType]uint64
	// Rejected counts rejected messages by reason.
	Rejected map[RejectReason]uint64
	// Duplicates counts gossiped changes and announces already covered.
	Duplicates uint64
	// Regossiped counts changes and announces re-queued on first sight.
	Regossiped uint64
	// AppliedChanges counts change batches the document newly applied.
	AppliedChanges uint64
	// ApplyErrors counts Document calls that returned an error.
	ApplyErrors uint64
	// SnapshotsSent and SnapshotsMerged count catch-up snapshots.
	SnapshotsSent, SnapshotsMerged uint64
	// AntiEntropyRounds counts digests sent on the anti-entropy timer.
	AntiEntropyRounds uint64
	// Fetches counts fetches sent for announced changes.
	Fetches uint64
	// Announced counts Announce messages queued for changes this node
	// holds (its own over the gossip budget or too large, and remote ones
	// it applied without re-gossiping them).
	Announced uint64
	// GossipDeferred counts received changes not re-gossiped because the
	// gossip budget was spent (they were announced instead).
	GossipDeferred uint64
	// StaleChanges counts changes in repair chunks that were already
	// covered when they arrived, dropped before the document decoded them.
	StaleChanges uint64
	// Pending and Quarantined are gauges: the document's pending and
	// quarantined changes after the last call.
	Pending, Quarantined int
	// LastLagMillis is a gauge: time between the newest remote change's
	// clock and the time it was applied here, at the last remote apply.
	LastLagMillis int64
	// Peers is a gauge: the number of live peers the core knows.
	Peers int
}

// RejectDocument is the reason counted when the document refuses a change's
// data or a snapshot.
const RejectDocument RejectReason = "document"

// seenKey identifies a gossiped change or announcement.
type seenKey struct {
	announce bool
	replica  clock.ReplicaID
	seq      uint64
}

// replicaState is what the core keeps per replica (Core.recent).
type replicaState struct {
	// fetch is the outstanding fetch for the replica, when fetching is
	// set (its number is then in Core.fetching). First, and together in
	// one cache line (see recentRun).
	fetch    fetchState
	fetching bool
	// announced is the highest sequence this node announced holding, so
	// it announces each advance once.
	announced uint64
	// fetchedFrom is the peer the replica was last fetched from, kept
	// after the fetch ends so its answer's late chunks are known as such.
	fetchedFrom string
	// announceKey is announceKey(replica), made at the first
	// announcement: a new string per announcement was one allocation
	// per node per applied change in the 10,000-node simulation.
	announceKey string
}

// fetchState is an outstanding fetch for an announced change.
type fetchState struct {
	peer string
	seq  uint64
	at   int64
	// later is the newest announcement heard while the fetch was
	// outstanding and laterFrom the node that made it: fetched as soon as
	// this fetch is answered or expires, so the last announcement of a
	// burst is not lost to an outstanding fetch.
	later     uint64
	laterFrom string
}

// Core is the pure protocol state machine: inputs (a local change, a message,
// a tick, a membership change) go in, Outputs come back. It owns no
// goroutines, sockets, timers or global randomness, so a simulation can drive
// many Cores in virtual time and get the same run from the same seed.
//
// A Core is not safe for concurrent use: the driver serializes all calls, and
// the Document it was given must not be used by anyone else concurrently.
type Core struct {
	// The fields are in the order of how many calls read them, so that
	// what nearly every message touches fills the first lines (cfg,
	// the document, recent, time and budget, fetches, seen marks):
	// driving 10,000 cores from one loop, each call finds its core out
	// of cache, and each further line of it read was a cache miss per
	// message (the earlier order, with recent a separate object, spread
	// one message's reads over about fourteen lines).
	cfg CoreConfig
	doc Document
	vr  VersionReader // doc, if it implements VersionReader
	vw  VersionViewer // doc, if it implements VersionViewer
	// vcache is the document's version vector while it is known not to
	// have changed, or nil (see versionOf).
	vcache VersionVector
	// recent keeps the changes applied last and, per replica, what the
	// core remembers of it beyond the document (replicaState: the peer
	// it was last fetched from, how much of it was announced, its
	// outstanding fetch), in the same entry as its run (see
	// recentRun.rs).
	recent recentChanges

	now      int64 // latest time passed in (ms)
	tokens   int64 // gossip budget left (bytes)
	refillAt int64 // time the budget was last refilled
	refilled bool  // refillAt is set
	behind   bool  // behindAt is set
	started  bool

	// fetching numbers the replicas with an outstanding fetch (their
	// entries in recent, which hold the fetch: replicaState.fetch). A
	// map of fetches by replica was one more cold map per announcement
	// and per chunk in the 10,000-node simulation.
	fetching []int
	// fresh are the changes marked seen during the current call that
	// are not in seen (yet): the set as the protocol defines it is seen
	// and fresh together. A gossiped change is usually applied in the
	// call that marks it, which would take it out of seen again at once
	// (keepApplied): two writes to one of thousands of cold maps per
	// change per node in a simulation. Only those still not covered
	// after the call's apply enter seen (keepSeen).
	fresh []seenKey
	seen  map[seenKey]struct{} // see SeenCapacity
	// repairPeer is the peer of the anti-entropy pull stream in flight
	// ("" for none) and repairAt its last sign of life (see
	// RepairTimeoutMillis).
	repairPeer string
	repairAt   int64

	// received counts accepted messages and their bytes by type; Stats
	// turns them into CoreStats' maps. Two map updates per message on
	// each of 10,000 simulated cores were cache misses on every
	// delivery; a type's two counts share a line.
	received [typeLimit]struct{ n, bytes uint64 }
	stats    CoreStats

	lastAE   int64 // time of the last anti-entropy round
	behindAt int64 // last time we learnt we lacked operations
	rng      *rand.Rand
	peers    []string // sorted, without our own name
	// held are changes handed to the document that it did not cover
	// yet (pending or quarantined), by replica, to move into recent once
	// it does; heldBytes is their Data size (see hold).
	held      map[clock.ReplicaID][]Change
	heldBytes int
	// peerVV is the last version vector each peer sent (digest or
	// snapshot), for the compaction frontier (compact.go); only with
	// KeepPeerVersions.
	peerVV map[string]VersionVector
}

// NewCore returns a Core over doc.
func NewCore(cfg CoreConfig, doc Document) (*Core, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("%w: nil document", ErrConfig)
	}
	c := &Core{
		cfg:    cfg,
		doc:    doc,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		seen:   make(map[seenKey]struct{}),
		recent: recentChanges{limit: cfg.RecentBytes},
		tokens: int64(cfg.GossipBytesPerSecond),
		stats: CoreStats{
			Rejected: map[RejectReason]uint64{},
		},
	}
	c.vr, _ = doc.(VersionReader)
	c.vw, _ = doc.(VersionViewer)
	return c, nil
}

// Name returns the node name the core was configured with.
func (c *Core) Name() string { return c.cfg.Name }

// Stats returns a copy of the core's counters.
func (c *Core) Stats() CoreStats {
	s := c.stats
	s.Received = map[MsgType]uint64{}
	s.ReceivedBytes = map[MsgType]uint64{}
	for t, n := range c.received {
		if n.n > 0 {
			s.Received[MsgType(t)] = n.n
			s.ReceivedBytes[MsgType(t)] = n.bytes
		}
	}
	s.Rejected = cloneMap(c.stats.Rejected)
	s.Peers = len(c.peers)
	return s
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Peers returns the live peers the core knows, sorted.
func (c *Core) Peers() []string { return slices.Clone(c.peers) }

// PeerUp records a live peer. Our own name is ignored.
func (c *Core) PeerUp(name string) {
	if name == c.cfg.Name {
		return
	}
	if i, found := slices.BinarySearch(c.peers, name); !found {
		c.peers = slices.Insert(c.peers, i, name)
	}
}

// PeerDown forgets a peer that left or failed.
func (c *Core) PeerDown(name string) {
	delete(c.peerVV, name)
	if c.repairPeer == name {
		c.repairPeer = ""
	}
	if i, found := slices.BinarySearch(c.peers, name); found {
		c.peers = slices.Delete(c.peers, i, i+1)
	}
}

// versionOf returns the document's sequence number for r. Without a
// VersionReader it reads a copy of the version vector that is kept until
// the document may have changed (forget).
func (c *Core) versionOf(r clock.ReplicaID) uint64 {
	if c.vr != nil {
		return c.vr.VersionOf(r)
	}
	if c.vcache == nil {
		c.vcache = c.doc.Version()
	}
	return c.vcache[r]
}

// forget drops the cached version vector: called on entry to every input
// (the driver may have changed the document in between) and after every
// call that changes the document.
func (c *Core) forget() { c.vcache = nil }

// markSeen remembers k and reports whether it was new. It goes into
// fresh; keepApplied drops it from there once covered, keepSeen moves
// what is left into seen.
func (c *Core) markSeen(k seenKey) bool {
	if _, ok := c.seen[k]; ok || slices.Contains(c.fresh, k) {
		return false
	}
	if len(c.seen)+len(c.fresh) >= c.cfg.SeenCapacity {
		clear(c.seen)
		c.fresh = c.fresh[:0]
	}
	c.fresh = append(c.fresh, k)
	return true
}

// keepSeen moves the changes marked seen in this call that the document
// does not cover yet (keepApplied dropped the others) into seen.
func (c *Core) keepSeen() {
	for _, k := range c.fresh {
		c.seen[k] = struct{}{}
	}
	c.fresh = c.fresh[:0]
}

// unsee forgets the change of replica r starting at start, now covered.
func (c *Core) unsee(r clock.ReplicaID, start uint64) {
	k := seenKey{replica: r, seq: start}
	if i := slices.Index(c.fresh, k); i >= 0 {
		c.fresh = slices.Delete(c.fresh, i, i+1)
	}
	if len(c.seen) > 0 {
		delete(c.seen, k)
	}
}

// changeKey is a gossiped change's broadcast key, "c/<replica>/<start>"
// (the replica as clock.ReplicaID.String writes it). Built by hand: with
// fmt it was 2.5% of the 10,000-node simulation.
func changeKey(r clock.ReplicaID, start uint64) string {
	var b [2 + 16 + 1 + 20]byte
	k := appendReplica(append(b[:0], "c/"...), r)
	return string(strconv.AppendUint(append(k, '/'), start, 10))
}

// announceKey is per replica, not per sequence: a newer announcement
// replaces the queued one, so the gossip queue holds at most one per
// replica. "a/<replica>".
func announceKey(r clock.ReplicaID) string {
	var b [2 + 16]byte
	return string(appendReplica(append(b[:0], "a/"...), r))
}

// appendReplica appends r as clock.ReplicaID.String writes it: 16
// lowercase hexadecimal digits.
func appendReplica(b []byte, r clock.ReplicaID) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(uint64(r)>>shift)&0xf])
	}
	return b
}

// advance moves the core's time to now (times never go back) and refills
// the gossip budget.
func (c *Core) advance(now int64) {
	c.now = max(c.now, now)
	if !c.refilled {
		c.refillAt, c.refilled = now, true
		return
	}
	budget := int64(c.cfg.GossipBytesPerSecond)
	if add := (now - c.refillAt) * budget / 1000; add > 0 {
		c.tokens = min(budget, c.tokens+add)
		c.refillAt = now
	}
}

// gossipMinCharge is the least a message costs of the gossip budget:
// memberlist's queue limits transmissions per message, not per byte, so
// tiny messages must not pass as nearly free.
const gossipMinCharge = 128

// spend takes n bytes (at least gossipMinCharge) from the gossip budget,
// or reports false.
func (c *Core) spend(n int) bool {
	n = max(n, gossipMinCharge)
	if c.tokens < int64(n) {
		return false
	}
	c.tokens -= int64(n)
	return true
}

// markBehind notes that this node had a gap at time now (the document
// holds changes it cannot apply yet because earlier ones are missing, and
// no fetch is outstanding that could bring them), which shortens the
// anti-entropy interval for a while. Receiving new changes, even out of
// order, does not count while fetches are in flight: they are bringing
// the rest, and extra rounds would only stream the same changes again.
func (c *Core) markBehind() { c.behindAt, c.behind = c.now, true }

// announce queues an Announce that this node holds r's operations up to
// seq, unless it announced that much already.
func (c *Core) announce(r clock.ReplicaID, seq uint64, out *Output) {
	st := &c.recent.entry(r).rs
	if seq <= st.announced {
		return
	}
	st.announced = seq
	if st.announceKey == "" {
		st.announceKey = announceKey(r)
	}
	c.stats.Announced++
	m := &AnnounceMsg{From: c.cfg.Name, Replica: r, Seq: seq}
	var msg []byte
	if p := c.cfg.Outputs; p == nil || !p.SizesOnly {
		msg = Encode(m)
	}
	out.Broadcasts = append(out.Broadcasts, Broadcast{Key: st.announceKey, Msg: msg, Message: m})
}

// keepApplied adds to the recent changes those of changes the document
// now covers (applied, not pending), and those held earlier that it now
// covers, in replica and sequence order. The others are held until it
// does (pending: waiting for a dependency; quarantined): a change
// released from the pending buffer by a later input used to be missing
// from the recent changes, so the next change of its replica restarted
// the run and repair answers for that replica fell back to the document
// (12% of the throughput benchmark's CPU in ChangesSince).
func (c *Core) keepApplied(changes []Change) {
	// Usually one or a few changes: on the stack, not an allocation per
	// node per applied batch.
	var buf [16]Change
	covered := buf[:0]
	for _, ch := range changes {
		if ch.End <= c.versionOf(ch.Replica) {
			covered = append(covered, ch)
		} else {
			c.hold(ch)
		}
	}
	covered = c.releaseHeld(covered)
	if len(covered) > 1 {
		slices.SortFunc(covered, func(a, b Change) int {
			return cmp.Or(cmp.Compare(a.Replica, b.Replica), cmp.Compare(a.Start, b.Start))
		})
	}
	for _, ch := range covered {
		c.recent.add(ch, c.now)
		// Covered from now on: the version check rejects it.
		c.unsee(ch.Replica, ch.Start)
	}
}

// hold keeps ch, which the document holds but does not cover yet, in its
// replica's held changes (ascending start, no two with the same start),
// unless they are over their bound (a quarter of RecentBytes).
func (c *Core) hold(ch Change) {
	if c.heldBytes+len(ch.Data) > c.cfg.RecentBytes/4 {
		return
	}
	if c.held == nil {
		c.held = map[clock.ReplicaID][]Change{}
	}
	run := c.held[ch.Replica]
	i, found := slices.BinarySearchFunc(run, ch.Start, func(h Change, start uint64) int { return cmp.Compare(h.Start, start) })
	if found {
		return
	}
	c.held[ch.Replica] = slices.Insert(run, i, ch)
	c.heldBytes += len(ch.Data)
}

// releaseHeld appends to covered the held changes the document now
// covers and forgets them (and those it can no longer need: covered, they
// are a prefix of each replica's held changes).
func (c *Core) releaseHeld(covered []Change) []Change {
	if len(c.held) == 0 {
		return covered
	}
	for r, run := range c.held {
		v := c.versionOf(r)
		k := 0
		for k < len(run) && run[k].End <= v {
			c.heldBytes -= len(run[k].Data)
			k++
		}
		if k == 0 {
			continue
		}
		covered = append(covered, run[:k]...)
		if k == len(run) {
			delete(c.held, r)
		} else {
			c.held[r] = slices.Clone(run[k:])
		}
	}
	if len(c.held) == 0 {
		// Ranging over an emptied map walks the table it grew to; hold
		// makes a new one when needed.
		c.held = nil
	}
	return covered
}

// announceApplied announces each replica of changes whose version the
// document advanced.
func (c *Core) announceApplied(changes []Change, out *Output) {
	for i, ch := range changes {
		if i > 0 && changes[i-1].Replica == ch.Replica {
			continue
		}
		c.announce(ch.Replica, c.versionOf(ch.Replica), out)
	}
}

// Local disseminates changes this node made; the caller has already applied
// them to the document. Each small change is gossiped whole while the gossip
// budget lasts; a change whose message would exceed FastPathBytes, or that
// finds the budget spent, is announced instead (one queued Announce per
// replica, the newest replacing the older).
func (c *Core) Local(changes ...Change) Output {
	c.forget()
	out := c.cfg.Outputs.get()
	for _, ch := range changes {
		c.recent.add(ch, c.now)
		m := &ChangeMsg{Change: ch}
		msg := Encode(m)
		if len(msg) <= c.cfg.FastPathBytes && c.spend(len(msg)) {
			out.Broadcasts = append(out.Broadcasts, Broadcast{Key: changeKey(ch.Replica, ch.Start), Msg: msg, Message: m})
			continue
		}
		c.announce(ch.Replica, ch.End, &out)
	}
	return out
}

// Advance moves the core's time to now (ms) without an input, as Receive,
// ReceiveBatch and ReceiveDecoded do on entry before they read their
// messages: the gossip budget refills and later calls see the new time.
// A driver that drops messages the core would only count as duplicates
// (a simulation checking its own copy of the version vector) calls it
// instead, so that the core's time and budget move exactly as if the
// messages had been delivered. Nothing is output.
func (c *Core) Advance(now int64) {
	c.forget()
	c.advance(now)
}

// Receive handles one wire message (gossip, best effort or reliable: the
// core does not care which) at time now (ms). Rejected messages are counted
// by reason and otherwise ignored; the returned error says why, for logging.
// The core may keep b (a gossiped change's data is not copied): the caller
// must not modify it afterwards.
func (c *Core) Receive(now int64, b []byte) (Output, error) {
	c.forget()
	c.advance(now)
	out := c.cfg.Outputs.get()
	m, err := c.decode(b)
	if err != nil {
		return out, err
	}
	if cm, ok := m.(*ChangeMsg); ok {
		var deferred []Change
		if !c.admitChange(b, cm, &out, &deferred) {
			return out, nil
		}
		a, err := c.doc.Apply([]Change{cm.Change})
		err = c.apply(now, true, a, err, &out)
		c.keepApplied([]Change{cm.Change})
		c.keepSeen()
		c.announceApplied(deferred, &out)
		return out, err
	}
	return out, c.handle(now, b, m, &out)
}

// ReceiveBatch handles several messages received together. It is Receive
// for each in turn, except that gossiped changes are applied to the
// document in one call at the end, which is cheaper under load. It returns
// the errors Receive would have returned, in order, without nils. As with
// Receive, the core may keep the messages' bytes.
func (c *Core) ReceiveBatch(now int64, msgs [][]byte) (Output, []error) {
	return c.receiveBatch(now, len(msgs), func(i int) ([]byte, Message, error) {
		m, err := c.decode(msgs[i])
		return msgs[i], m, err
	})
}

// Received is a message its receiver decoded already (with Decode), and
// its bytes. A plain value; the core only reads it.
type Received struct {
	Raw []byte
	Msg Message
	// Size is the length of the bytes Msg was encoded to, counted in
	// the core's received bytes when Raw is nil (a driver delivering a
	// message without its bytes: see OutputPool.SizesOnly).
	Size int
}

// ReceiveDecoded is ReceiveBatch for messages the caller decoded: a driver
// that hands the same bytes to many cores (a simulation delivering one
// gossip packet to thousands of nodes) decodes each message once instead
// of once per core. The core reads the messages and may keep references
// into them (change data, version vectors), never modifies them; the
// caller must not modify them either. A nil Msg is counted and returned as
// malformed.
func (c *Core) ReceiveDecoded(now int64, msgs []Received) (Output, []error) {
	return c.receiveBatch(now, len(msgs), func(i int) ([]byte, Message, error) {
		r := msgs[i]
		if r.Msg == nil {
			c.stats.Rejected[RejectMalformed]++
			return nil, nil, &DecodeError{Reason: RejectMalformed, Detail: "nil message"}
		}
		size := len(r.Raw)
		if r.Raw == nil {
			size = r.Size
		}
		c.count(r.Msg.Type(), size)
		return r.Raw, r.Msg, nil
	})
}

// receiveBatch is ReceiveBatch over n messages that next decodes (and
// counts) by index.
func (c *Core) receiveBatch(now int64, n int, next func(i int) ([]byte, Message, error)) (Output, []error) {
	c.forget()
	c.advance(now)
	out := c.cfg.Outputs.get()
	var errs []error
	var deferred []Change
	// The pool's array when there is one: the document does not keep
	// the slice (Document.Apply), nor does anything below.
	batch := c.cfg.Outputs.batch()
	for i := range n {
		b, m, err := next(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cm, ok := m.(*ChangeMsg); ok {
			if c.admitChange(b, cm, &out, &deferred) {
				batch = append(batch, cm.Change)
			}
			continue
		}
		if err := c.handle(now, b, m, &out); err != nil {
			errs = append(errs, err)
		}
	}
	if len(batch) > 0 {
		a, err := c.doc.Apply(batch)
		if err := c.apply(now, true, a, err, &out); err != nil {
			errs = append(errs, err)
		}
		c.keepApplied(batch)
		c.keepSeen()
		slices.SortStableFunc(deferred, func(a, b Change) int { return cmp.Compare(a.Replica, b.Replica) })
		c.announceApplied(deferred, &out)
	}
	c.cfg.Outputs.putBatch(batch)
	return out, errs
}

// decode decodes and counts one message.
func (c *Core) decode(b []byte) (Message, error) {
	m, err := decodeShared(b)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			c.stats.Rejected[de.Reason]++
		}
		return nil, err
	}
	c.count(m.Type(), len(b))
	return m, nil
}

// count counts an accepted message of type t and size bytes.
func (c *Core) count(t MsgType, size int) {
	if t < typeLimit {
		c.received[t].n++
		c.received[t].bytes += uint64(size)
	}
}

// handle dispatches every message type but Change.
func (c *Core) handle(now int64, b []byte, m Message, out *Output) error {
	switch m := m.(type) {
	case *AnnounceMsg:
		c.onAnnounce(now, m, out)
	case *FetchMsg:
		return c.onFetch(m, out)
	case *DigestMsg:
		return c.onDigest(m, out)
	case *ChangesMsg:
		return c.onChanges(now, m, out)
	case *SnapshotRequestMsg:
		return c.sendSnapshot(m.From, out)
	case *SnapshotMsg:
		return c.onSnapshot(now, m, out)
	}
	return nil
}

// apply runs a document call, counting its outcome.
func (c *Core) apply(now int64, remote bool, a Applied, err error, out *Output) error {
	c.forget()
	c.stats.Pending, c.stats.Quarantined = a.Pending, a.Quarantined
	c.stats.AppliedChanges += uint64(a.Changes)
	if remote && a.Changes > 0 && a.NewestMillis > 0 {
		c.stats.LastLagMillis = max(0, now-a.NewestMillis)
	}
	out.applied(a)
	if err != nil {
		c.stats.ApplyErrors++
		c.stats.Rejected[RejectDocument]++
		return fmt.Errorf("mesh: document refused input: %w", err)
	}
	return nil
}

// admitChange decides about a gossiped change: false if it is already
// covered (a duplicate); otherwise it re-gossips it the first time, budget
// permitting (else it appends it to deferred, to be announced once
// applied), and returns true: the caller applies it.
func (c *Core) admitChange(raw []byte, m *ChangeMsg, out *Output, deferred *[]Change) bool {
	ch := m.Change
	if ch.End <= c.versionOf(ch.Replica) {
		c.stats.Duplicates++
		return false
	}
	if c.markSeen(seenKey{replica: ch.Replica, seq: ch.Start}) {
		if !c.spend(len(raw)) {
			c.stats.GossipDeferred++
			*deferred = append(*deferred, ch)
			return true
		}
		c.stats.Regossiped++
		// raw itself, not a copy: the caller gave it up to the core
		// (Receive), and a broadcast is only read. The copy was an
		// allocation per node per gossiped change.
		out.Broadcasts = append(out.Broadcasts, Broadcast{Key: changeKey(ch.Replica, ch.Start), Msg: raw, Message: m})
	}
	return true
}

// onAnnounce fetches what an announcement offers, from the node that
// announced it, unless a fetch for that replica is still outstanding. It
// does not re-gossip the announcement: a node announces only what it holds
// (after applying it), so fetches spread over every node that has the
// change instead of all going to its author.
func (c *Core) onAnnounce(now int64, m *AnnounceMsg, out *Output) {
	have := c.versionOf(m.Replica)
	if m.Seq <= have || m.From == c.cfg.Name {
		c.stats.Duplicates++
		return
	}
	if e := c.recent.find(m.Replica); e != nil && e.rs.fetching && now-e.rs.fetch.at < c.cfg.FetchTimeoutMillis {
		if f := &e.rs.fetch; m.Seq > f.later {
			f.later, f.laterFrom = m.Seq, m.From
		}
		return
	}
	c.fetch(now, m.Replica, m.From, m.Seq, out)
}

// fetch asks peer for replica r's changes after ours, expecting seq.
func (c *Core) fetch(now int64, r clock.ReplicaID, peer string, seq uint64, out *Output) {
	f := fetchState{peer: peer, seq: seq, at: now}
	st := c.startFetch(r, f)
	st.fetch, st.fetchedFrom = f, peer
	c.stats.Fetches++
	c.send(out, peer, &FetchMsg{From: c.cfg.Name, Replica: r, After: c.versionOf(r)})
}

// startFetch returns what the core keeps of replica r, with a fetch
// outstanding: f unless one was already. The pointer is valid until the
// next call that may add a replica's entry (recentChanges.entry).
func (c *Core) startFetch(r clock.ReplicaID, f fetchState) *replicaState {
	n := c.recent.number(r)
	st := &c.recent.runs[n].rs
	if !st.fetching {
		st.fetch, st.fetching = f, true
		c.fetching = append(c.fetching, n)
	}
	return st
}

// endFetches ends the outstanding fetches done reports finished and
// fetches again, in replica order, those that heard of a later
// announcement than they have now.
func (c *Core) endFetches(now int64, done func(clock.ReplicaID, fetchState) bool, out *Output) {
	if len(c.fetching) == 0 {
		// Every tick and every chunk comes here: ranging over an empty
		// map still walks the table it grew to.
		return
	}
	var again []refetch
	kept := c.fetching[:0]
	for _, n := range c.fetching {
		e := &c.recent.runs[n]
		r, f := e.replica, e.rs.fetch
		if !done(r, f) {
			kept = append(kept, n)
			continue
		}
		e.rs.fetch, e.rs.fetching = fetchState{}, false
		if f.later > c.versionOf(r) {
			again = append(again, refetch{r, f})
		}
	}
	c.fetching = kept
	slices.SortFunc(again, func(a, b refetch) int { return cmp.Compare(a.r, b.r) })
	for _, a := range again {
		c.fetch(now, a.r, a.f.laterFrom, a.f.later, out)
	}
}

// refetch is an ended fetch to send again (endFetches).
type refetch struct {
	r clock.ReplicaID
	f fetchState
}

func (c *Core) onFetch(m *FetchMsg, out *Output) error {
	if m.From == c.cfg.Name {
		return nil
	}
	have := c.versionOf(m.Replica)
	if have <= m.After {
		return nil
	}
	// One replica's run from the recent changes, without copying the
	// version vector (two copies and a sort of it per fetch were a fifth
	// of the 1,000-node simulation's CPU).
	if run, ok := c.recent.since(m.Replica, m.After, have); ok {
		c.sendChunks(m.From, run, out)
		return nil
	}
	// Ask the document for only this replica's changes: everything else
	// at our own version, this replica at the fetcher's.
	v := c.doc.Version()
	mine := v.Clone()
	v[m.Replica] = m.After
	return c.streamChanges(m.From, v, mine, []clock.ReplicaID{m.Replica}, false, out)
}

// lacking returns the replicas of mine that v lacks operations of,
// ascending, and how many operations v lacks in all (v.Missing(mine)):
// a digest's answer needs both, and two passes over the vectors, each a
// map lookup per replica, were 1.8 s of the 10,000-node simulation.
func lacking(v, mine VersionVector) ([]clock.ReplicaID, uint64) {
	// Sorted so the chunks are the same from the same state (sorting
	// all of mine per digest was 5% of the 1,000-node simulation).
	var rs []clock.ReplicaID
	var n uint64
	for r, s := range mine {
		if have := v[r]; have < s {
			rs = append(rs, r)
			n += s - have
		}
	}
	slices.Sort(rs)
	return rs, n
}

// streamRecent sends what v lacks of mine from the recent changes, as
// streamChanges would, and reports false (sending nothing) when they do
// not hold all of it or, with probe set, when the document says its log
// no longer reaches back to v: the peer then gets a snapshot, as
// compaction intends, even though the changes are still in memory here.
// Digests probe (a peer returning after the retention time is caught up
// by a snapshot); fetches, which ask for what was just announced, do not:
// the probe walks the document's log and cost a third of a full answer.
// A digest whose answer would be larger than one reply (ChunksPerReply
// chunks) is answered only with changes kept for at least
// RepairSettleMillis: younger ones are what the fast path (gossip,
// announce and fetch) is delivering right now.
func (c *Core) streamRecent(peer string, v, mine VersionVector, lacking []clock.ReplicaID, probe bool, out *Output) bool {
	changes, size, ok := c.recentRuns(v, mine, lacking, 0)
	if !ok {
		return false
	}
	if probe && c.cfg.RepairSettleMillis > 0 && size > c.cfg.ChunkBytes*c.cfg.ChunksPerReply {
		changes, _, _ = c.recentRuns(v, mine, lacking, c.now-c.cfg.RepairSettleMillis)
	}
	if len(changes) == 0 {
		return true
	}
	if probe {
		if err := c.checkFloor(v); err != nil {
			return false
		}
	}
	c.sendChunks(peer, changes, out)
	return true
}

// recentRuns collects from the recent changes, in replica order, what v
// lacks of mine for the replicas lacking, and their Data bytes; with
// before > 0 only changes added at or before that time. It reports false
// when the recent changes do not hold all of it.
func (c *Core) recentRuns(v, mine VersionVector, lacking []clock.ReplicaID, before int64) ([]Change, int, bool) {
	var changes []Change
	size := 0
	for _, r := range lacking {
		run, ok := c.recent.since(r, v[r], mine[r])
		if before > 0 {
			run, ok = c.recent.settled(r, v[r], mine[r], before)
		}
		if !ok {
			return nil, 0, false
		}
		if changes == nil {
			// The run itself when it is the only one (most answers
			// are for one replica), not a copy: a run's array is
			// never overwritten (recentChanges.add), and the
			// capacity is cut so that appending the next run
			// copies.
			changes = run[:len(run):len(run)]
		} else {
			changes = append(changes, run...)
		}
		size += runBytes(run)
	}
	return changes, size, true
}

// sendChunks sends changes to peer in up to ChunksPerReply Changes messages
// of at most ChunkBytes of data each (at least one change each); the last
// says More when changes were left over.
func (c *Core) sendChunks(peer string, changes []Change, out *Output) {
	for i := 0; i < c.cfg.ChunksPerReply && len(changes) > 0; i++ {
		n, size := 0, 0
		for n < len(changes) && (n == 0 || size+len(changes[n].Data) <= c.cfg.ChunkBytes) {
			size += len(changes[n].Data)
			n++
		}
		chunk := changes[:n:n]
		changes = changes[n:]
		last := len(changes) == 0 || i == c.cfg.ChunksPerReply-1
		c.send(out, peer, &ChangesMsg{From: c.cfg.Name, Changes: chunk, More: len(changes) > 0 && last})
	}
}

// streamChanges sends to peer up to ChunksPerReply Changes messages with what
// v lacks of mine (our version): the replicas lacking (see lacking). The
// last carries More if there was more to give. Recent changes are sent as
// kept (probe: see streamRecent); older ones come from the document.
func (c *Core) streamChanges(peer string, v, mine VersionVector, lacking []clock.ReplicaID, probe bool, out *Output) error {
	if c.streamRecent(peer, v, mine, lacking, probe, out) {
		return nil
	}
	// v is the caller's (a received digest's vector, read-only): raised
	// below, so copied, but only here: most answers come from the recent
	// changes, and a copy per digest was 0.7% of the 10,000-node run.
	v = v.Clone()
	for i := 0; i < c.cfg.ChunksPerReply; i++ {
		changes, more, err := c.doc.ChangesSince(v, c.cfg.ChunkBytes)
		if errors.Is(err, ErrCompacted) {
			return c.sendSnapshot(peer, out)
		}
		if err != nil {
			return fmt.Errorf("mesh: reading changes for %s: %w", peer, err)
		}
		if len(changes) == 0 {
			return nil
		}
		for _, ch := range changes {
			v[ch.Replica] = max(v[ch.Replica], ch.End)
		}
		last := !more || i == c.cfg.ChunksPerReply-1
		c.send(out, peer, &ChangesMsg{From: c.cfg.Name, Changes: changes, More: more && last})
		if !more {
			return nil
		}
	}
	return nil
}

func (c *Core) onDigest(m *DigestMsg, out *Output) error {
	if m.From == c.cfg.Name {
		return nil
	}
	c.notePeerVersion(m.From, m.Version)
	// Only read here (no call below changes the document), so a lent
	// vector will do; the reply gets a copy.
	mine, lent := VersionVector(nil), c.vw != nil
	if lent {
		mine = c.vw.VersionView()
	} else {
		mine = c.doc.Version()
	}
	var err error
	if lack, theyLack := lacking(m.Version, mine); theyLack > c.cfg.SnapshotMissingOps {
		err = c.sendSnapshot(m.From, out)
	} else if theyLack > 0 {
		err = c.streamChanges(m.From, m.Version, mine, lack, true, out)
	}
	// Covers stops at the first replica we lack, where Missing added
	// them all up.
	if m.Reply && !mine.Covers(m.Version) {
		if lent {
			mine = c.doc.Version()
		}
		c.send(out, m.From, &DigestMsg{From: c.cfg.Name, Version: mine})
	}
	return err
}

// onChanges applies a repair or fetch chunk. Changes the document already
// covers (gossip or another stream brought them meanwhile) are dropped
// before the document decodes them. What the chunk advanced is announced,
// so peers that lack it can fetch it from here.
func (c *Core) onChanges(now int64, m *ChangesMsg, out *Output) error {
	// A fetch answer holds one replica's changes, from the peer fetched.
	fr, isFetch := c.fetchAnswer(m)
	end := replyEnd(m, c.cfg.ChunkBytes)
	// A slice of the core's, not the message's, which may be shared
	// (ReceiveDecoded): the pool's when there is one (a new slice per
	// chunk was one allocation per fetch answer per node).
	fresh := c.cfg.Outputs.batch()
	for _, ch := range m.Changes {
		if ch.End <= c.versionOf(ch.Replica) {
			c.stats.StaleChanges++
			continue
		}
		fresh = append(fresh, ch)
	}
	var err error
	if len(fresh) > 0 {
		var a Applied
		a, err = c.doc.Apply(fresh)
		err = c.apply(now, true, a, err, out)
		c.keepApplied(fresh)
		c.announceApplied(fresh, out)
	}
	c.cfg.Outputs.putBatch(fresh)
	if isFetch && m.More {
		// Pull the rest of that replica from the same peer, not
		// everything it has: a digest here would stream again what the
		// other replicas' fetches are bringing. (The fetch may have
		// ended already, by a middle chunk that reached its seq.)
		f := &c.startFetch(fr, fetchState{peer: m.From}).fetch
		f.seq = max(f.seq, m.Changes[len(m.Changes)-1].End+1)
		f.at = now
		c.stats.Fetches++
		c.send(out, m.From, &FetchMsg{From: c.cfg.Name, Replica: fr, After: c.versionOf(fr)})
	}
	c.endFetches(now, func(r clock.ReplicaID, f fetchState) bool {
		if isFetch && m.More && r == fr {
			return false
		}
		return c.versionOf(r) >= f.seq || (f.peer == m.From && end)
	}, out)
	if m.From == c.repairPeer && !isFetch {
		if end {
			c.repairPeer = ""
		} else {
			c.repairAt = now
		}
	}
	if m.More && !isFetch && m.From != c.cfg.Name {
		c.send(out, m.From, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version()})
	}
	return err
}

// replyEnd reports whether m is the last chunk of an answer with nothing
// more to ask for. Only a reply's last chunk says More, and the chunks of
// one reply travel on separate streams, so they arrive in any order: a
// chunk without More may be one of the reply's full middle chunks. A
// chunk under half of chunkBytes (the sender fills every chunk but the
// last to about chunkBytes) without More ends the answer. Treating every
// chunk without More as the end ended fetches and repair streams at
// their first chunk, and the fetch's More chunk was then continued as a
// repair stream of every replica. (A final chunk over half full is seen
// as a middle one; the fetch or stream then ends by timeout.)
func replyEnd(m *ChangesMsg, chunkBytes int) bool {
	if m.More {
		return false
	}
	size := 0
	for _, ch := range m.Changes {
		size += len(ch.Data)
	}
	return size < chunkBytes/2
}

// fetchAnswer reports whether m answers a fetch: its changes are all of
// one replica, last fetched from m's sender.
func (c *Core) fetchAnswer(m *ChangesMsg) (clock.ReplicaID, bool) {
	if len(m.Changes) == 0 {
		return 0, false
	}
	r := m.Changes[0].Replica
	for _, ch := range m.Changes[1:] {
		if ch.Replica != r {
			return 0, false
		}
	}
	e := c.recent.find(r)
	return r, e != nil && e.rs.fetchedFrom == m.From
}

func (c *Core) sendSnapshot(peer string, out *Output) error {
	if peer == c.cfg.Name {
		return nil
	}
	data, v, err := c.doc.Snapshot()
	if err != nil {
		return fmt.Errorf("mesh: taking a snapshot for %s: %w", peer, err)
	}
	c.stats.SnapshotsSent++
	c.send(out, peer, &SnapshotMsg{From: c.cfg.Name, Version: v, Data: data})
	return nil
}

func (c *Core) onSnapshot(now int64, m *SnapshotMsg, out *Output) error {
	if m.From == c.cfg.Name {
		return nil
	}
	c.notePeerVersion(m.From, m.Version)
	if c.doc.Version().Covers(m.Version) {
		c.stats.Duplicates++
		return nil
	}
	a, err := c.doc.MergeSnapshot(m.Data)
	if err == nil {
		c.stats.SnapshotsMerged++
	}
	err = c.apply(now, true, a, err, out)
	// Ask for whatever the peer applied after taking the snapshot, and
	// offer what we have that it lacks.
	c.send(out, m.From, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
	return err
}

// Tick advances the core to time now (ms): it retries quarantined changes,
// forgets expired fetches and, when the anti-entropy interval has passed
// and no earlier round's pull stream is still in flight, sends a digest to
// one random live peer. Call it at least every
// AntiEntropyMillis; more often makes quarantine retries prompter.
func (c *Core) Tick(now int64) Output {
	if !c.started {
		// Spread the first round over one interval so nodes started
		// together do not run anti-entropy in lockstep.
		c.started = true
		c.lastAE = now - c.rng.Int64N(c.cfg.AntiEntropyMillis+1)
	}
	c.forget()
	c.advance(now)
	out := c.cfg.Outputs.get()
	a, err := c.doc.RetryQuarantined()
	_ = c.apply(now, true, a, err, &out)
	if a.Changes > 0 {
		c.keepApplied(nil)
	}
	c.endFetches(now, func(_ clock.ReplicaID, f fetchState) bool {
		return now-f.at >= c.cfg.FetchTimeoutMillis
	}, &out)
	if c.stats.Pending > 0 && len(c.fetching) == 0 {
		c.markBehind()
	}
	interval := c.cfg.AntiEntropyMillis
	if c.behind && now-c.behindAt < c.cfg.AntiEntropyMillis {
		interval = min(interval, c.cfg.BusyAntiEntropyMillis)
	}
	streaming := c.repairPeer != "" && now-c.repairAt < c.cfg.RepairTimeoutMillis
	if now >= c.lastAE+interval && !streaming {
		c.lastAE = now
		if peer, ok := c.randomPeer(); ok {
			c.stats.AntiEntropyRounds++
			c.repairPeer, c.repairAt = peer, now
			c.send(&out, peer, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
		}
	}
	return out
}

// SyncWith returns a digest for peer right away, outside the anti-entropy
// timer: the Node uses it after a join so a new node catches up at once.
func (c *Core) SyncWith(peer string) Output {
	out := c.cfg.Outputs.get()
	if peer != c.cfg.Name {
		c.send(&out, peer, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
	}
	return out
}

func (c *Core) randomPeer() (string, bool) {
	if len(c.peers) == 0 {
		return "", false
	}
	return c.peers[c.rng.IntN(len(c.peers))], true
}
