package mesh

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

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
	// SeenCapacity is how many recently gossiped change and announce ids are
	// remembered to re-gossip each only once. Default 65,536.
	SeenCapacity int
	// Seed seeds the random peer choice (math/rand/v2 PCG).
	Seed uint64
}

// withDefaults returns c with zero fields set to their defaults.
func (c CoreConfig) withDefaults() CoreConfig {
	if c.FastPathBytes == 0 {
		c.FastPathBytes = 1024
	}
	if c.AntiEntropyMillis == 0 {
		c.AntiEntropyMillis = 1000
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
	return c
}

// validate checks a defaulted CoreConfig.
func (c CoreConfig) validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: empty node name", ErrConfig)
	case len(c.Name) > MaxNameBytes:
		return fmt.Errorf("%w: node name longer than %d bytes", ErrConfig, MaxNameBytes)
	case c.FastPathBytes < 0 || c.ChunkBytes < 0 || c.ChunksPerReply < 0 || c.SeenCapacity < 0:
		return fmt.Errorf("%w: negative size", ErrConfig)
	case c.AntiEntropyMillis < 0 || c.FetchTimeoutMillis < 0:
		return fmt.Errorf("%w: negative interval", ErrConfig)
	}
	return nil
}

// Broadcast is an output of the core: queue Msg on the gossip queue
// (memberlist's TransmitLimitedQueue), replacing any queued broadcast with the
// same Key. A plain value.
type Broadcast struct {
	Key string
	Msg []byte
}

// Send is an output of the core: send Msg to the peer named To, over the
// reliable (stream) channel when Reliable is set, else best effort. A plain
// value.
type Send struct {
	To       string
	Reliable bool
	Msg      []byte
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

func (o *Output) send(to string, m Message) {
	o.Sends = append(o.Sends, Send{To: to, Reliable: true, Msg: Encode(m)})
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

// fetchState is an outstanding fetch for an announced change.
type fetchState struct {
	seq uint64
	at  int64
}

// Core is the pure protocol state machine: inputs (a local change, a message,
// a tick, a membership change) go in, Outputs come back. It owns no
// goroutines, sockets, timers or global randomness, so a simulation can drive
// many Cores in virtual time and get the same run from the same seed.
//
// A Core is not safe for concurrent use: the driver serializes all calls, and
// the Document it was given must not be used by anyone else concurrently.
type Core struct {
	cfg CoreConfig
	doc Document
	vr  VersionReader // doc, if it implements VersionReader
	rng *rand.Rand

	peers []string // sorted, without our own name

	seen     map[seenKey]struct{}
	seenRing []seenKey
	seenNext int

	fetching map[clock.ReplicaID]fetchState
	nextAE   int64
	started  bool

	// peerVV is the last version vector each peer sent (digest or
	// snapshot), for the compaction frontier (compact.go).
	peerVV map[string]VersionVector

	stats CoreStats
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
		cfg:      cfg,
		doc:      doc,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		seen:     make(map[seenKey]struct{}),
		fetching: make(map[clock.ReplicaID]fetchState),
		stats: CoreStats{
			Received:      map[MsgType]uint64{},
			ReceivedBytes: map[MsgType]uint64{},
			Rejected:      map[RejectReason]uint64{},
		},
	}
	c.vr, _ = doc.(VersionReader)
	return c, nil
}

// Name returns the node name the core was configured with.
func (c *Core) Name() string { return c.cfg.Name }

// Stats returns a copy of the core's counters.
func (c *Core) Stats() CoreStats {
	s := c.stats
	s.Received = cloneMap(c.stats.Received)
	s.ReceivedBytes = cloneMap(c.stats.ReceivedBytes)
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
	if i, found := slices.BinarySearch(c.peers, name); found {
		c.peers = slices.Delete(c.peers, i, i+1)
	}
}

// versionOf returns the document's sequence number for r.
func (c *Core) versionOf(r clock.ReplicaID) uint64 {
	if c.vr != nil {
		return c.vr.VersionOf(r)
	}
	return c.doc.Version()[r]
}

// markSeen remembers k and reports whether it was new.
func (c *Core) markSeen(k seenKey) bool {
	if _, ok := c.seen[k]; ok {
		return false
	}
	if c.cfg.SeenCapacity == 0 {
		return true
	}
	if len(c.seenRing) < c.cfg.SeenCapacity {
		c.seenRing = append(c.seenRing, k)
	} else {
		delete(c.seen, c.seenRing[c.seenNext])
		c.seenRing[c.seenNext] = k
		c.seenNext = (c.seenNext + 1) % c.cfg.SeenCapacity
	}
	c.seen[k] = struct{}{}
	return true
}

func changeKey(r clock.ReplicaID, start uint64) string { return fmt.Sprintf("c/%s/%d", r, start) }

func announceKey(r clock.ReplicaID, seq uint64) string { return fmt.Sprintf("a/%s/%d", r, seq) }

// Local disseminates changes this node made; the caller has already applied
// them to the document. Each small change is gossiped whole; a change whose
// message would exceed FastPathBytes is announced instead.
func (c *Core) Local(changes ...Change) Output {
	var out Output
	for _, ch := range changes {
		msg := Encode(&ChangeMsg{Change: ch})
		if len(msg) <= c.cfg.FastPathBytes {
			c.markSeen(seenKey{replica: ch.Replica, seq: ch.Start})
			out.Broadcasts = append(out.Broadcasts, Broadcast{Key: changeKey(ch.Replica, ch.Start), Msg: msg})
			continue
		}
		c.markSeen(seenKey{announce: true, replica: ch.Replica, seq: ch.End})
		out.Broadcasts = append(out.Broadcasts, Broadcast{
			Key: announceKey(ch.Replica, ch.End),
			Msg: Encode(&AnnounceMsg{From: c.cfg.Name, Replica: ch.Replica, Seq: ch.End}),
		})
	}
	return out
}

// Receive handles one wire message (gossip, best effort or reliable: the
// core does not care which) at time now (ms). Rejected messages are counted
// by reason and otherwise ignored; the returned error says why, for logging.
func (c *Core) Receive(now int64, b []byte) (Output, error) {
	var out Output
	m, err := c.decode(b)
	if err != nil {
		return out, err
	}
	if cm, ok := m.(*ChangeMsg); ok {
		if !c.admitChange(b, cm, &out) {
			return out, nil
		}
		a, err := c.doc.Apply([]Change{cm.Change})
		return out, c.apply(now, true, a, err, &out)
	}
	return out, c.handle(now, b, m, &out)
}

// ReceiveBatch handles several messages received together. It is Receive
// for each in turn, except that gossiped changes are applied to the
// document in one call at the end, which is cheaper under load. It returns
// the errors Receive would have returned, in order, without nils.
func (c *Core) ReceiveBatch(now int64, msgs [][]byte) (Output, []error) {
	var out Output
	var errs []error
	var batch []Change
	for _, b := range msgs {
		m, err := c.decode(b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cm, ok := m.(*ChangeMsg); ok {
			if c.admitChange(b, cm, &out) {
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
	}
	return out, errs
}

// decode decodes and counts one message.
func (c *Core) decode(b []byte) (Message, error) {
	m, err := Decode(b, 0)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			c.stats.Rejected[de.Reason]++
		}
		return nil, err
	}
	c.stats.Received[m.Type()]++
	c.stats.ReceivedBytes[m.Type()] += uint64(len(b))
	return m, nil
}

// handle dispatches every message type but Change.
func (c *Core) handle(now int64, b []byte, m Message, out *Output) error {
	switch m := m.(type) {
	case *AnnounceMsg:
		c.onAnnounce(now, b, m, out)
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
// covered (a duplicate); otherwise it re-gossips it the first time and
// returns true: the caller applies it.
func (c *Core) admitChange(raw []byte, m *ChangeMsg, out *Output) bool {
	ch := m.Change
	if ch.End <= c.versionOf(ch.Replica) {
		c.stats.Duplicates++
		return false
	}
	if c.markSeen(seenKey{replica: ch.Replica, seq: ch.Start}) {
		c.stats.Regossiped++
		out.Broadcasts = append(out.Broadcasts, Broadcast{Key: changeKey(ch.Replica, ch.Start), Msg: slices.Clone(raw)})
	}
	return true
}

func (c *Core) onAnnounce(now int64, raw []byte, m *AnnounceMsg, out *Output) {
	have := c.versionOf(m.Replica)
	if m.Seq <= have || m.From == c.cfg.Name {
		c.stats.Duplicates++
		return
	}
	if c.markSeen(seenKey{announce: true, replica: m.Replica, seq: m.Seq}) {
		c.stats.Regossiped++
		out.Broadcasts = append(out.Broadcasts, Broadcast{Key: announceKey(m.Replica, m.Seq), Msg: slices.Clone(raw)})
	}
	if f, ok := c.fetching[m.Replica]; ok && f.seq >= m.Seq && now-f.at < c.cfg.FetchTimeoutMillis {
		return
	}
	c.fetching[m.Replica] = fetchState{seq: m.Seq, at: now}
	c.stats.Fetches++
	out.send(m.From, &FetchMsg{From: c.cfg.Name, Replica: m.Replica, After: have})
}

func (c *Core) onFetch(m *FetchMsg, out *Output) error {
	if m.From == c.cfg.Name {
		return nil
	}
	v := c.doc.Version()
	if v[m.Replica] <= m.After {
		return nil
	}
	// Ask the document for only this replica's changes: everything else at
	// our own version, this replica at the fetcher's.
	v[m.Replica] = m.After
	return c.streamChanges(m.From, v, out)
}

// streamChanges sends to peer up to ChunksPerReply Changes messages with what
// v lacks. The last carries More if the document had more to give.
func (c *Core) streamChanges(peer string, v VersionVector, out *Output) error {
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
		out.send(peer, &ChangesMsg{From: c.cfg.Name, Changes: changes, More: more && last})
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
	mine := c.doc.Version()
	var err error
	if theyLack := m.Version.Missing(mine); theyLack > c.cfg.SnapshotMissingOps {
		err = c.sendSnapshot(m.From, out)
	} else if theyLack > 0 {
		err = c.streamChanges(m.From, m.Version.Clone(), out)
	}
	if m.Reply && mine.Missing(m.Version) > 0 {
		out.send(m.From, &DigestMsg{From: c.cfg.Name, Version: mine})
	}
	return err
}

func (c *Core) onChanges(now int64, m *ChangesMsg, out *Output) error {
	a, err := c.doc.Apply(m.Changes)
	err = c.apply(now, true, a, err, out)
	for r, f := range c.fetching {
		if c.versionOf(r) >= f.seq {
			delete(c.fetching, r)
		}
	}
	if m.More && m.From != c.cfg.Name {
		out.send(m.From, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version()})
	}
	return err
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
	out.send(peer, &SnapshotMsg{From: c.cfg.Name, Version: v, Data: data})
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
	out.send(m.From, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
	return err
}

// Tick advances the core to time now (ms): it retries quarantined changes,
// forgets expired fetches and, when the anti-entropy interval has passed,
// sends a digest to one random live peer. Call it at least every
// AntiEntropyMillis; more often makes quarantine retries prompter.
func (c *Core) Tick(now int64) Output {
	var out Output
	a, err := c.doc.RetryQuarantined()
	_ = c.apply(now, true, a, err, &out)
	for r, f := range c.fetching {
		if now-f.at >= c.cfg.FetchTimeoutMillis {
			delete(c.fetching, r)
		}
	}
	if !c.started {
		// Spread the first round over one interval so nodes started
		// together do not run anti-entropy in lockstep.
		c.started = true
		c.nextAE = now + c.rng.Int64N(c.cfg.AntiEntropyMillis+1)
	}
	if now >= c.nextAE {
		c.nextAE = now + c.cfg.AntiEntropyMillis
		if peer, ok := c.randomPeer(); ok {
			c.stats.AntiEntropyRounds++
			out.send(peer, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
		}
	}
	return out
}

// SyncWith returns a digest for peer right away, outside the anti-entropy
// timer: the Node uses it after a join so a new node catches up at once.
func (c *Core) SyncWith(peer string) Output {
	var out Output
	if peer != c.cfg.Name {
		out.send(peer, &DigestMsg{From: c.cfg.Name, Version: c.doc.Version(), Reply: true})
	}
	return out
}

func (c *Core) randomPeer() (string, bool) {
	if len(c.peers) == 0 {
		return "", false
	}
	return c.peers[c.rng.IntN(len(c.peers))], true
}
