package mesh

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// LocalDocument is the document a Node serves: the replication surface the
// protocol core needs, plus local edits and reads. The Node calls it under
// its own lock, one call at a time.
type LocalDocument interface {
	Document
	// Update runs recipe on a draft of the current state and applies the
	// result locally. It returns the encoded change to disseminate (a zero
	// Change when the recipe changed nothing) and the local effect.
	Update(recipe func(d *draft.Draft) error) (Change, Applied, error)
	// State returns the current visible state (immutable).
	State() draft.Value
}

// Event is one batch of visible changes delivered to watchers: a local
// Update or one remote apply (a gossiped change, a repair chunk, a snapshot
// or quarantined changes released). Events are shared by all watchers:
// read them, do not modify the Patches.
type Event struct {
	// Local is set for changes made by this node's Update.
	Local bool
	// Patches are the visible changes, as the document reported them.
	Patches []draft.Patch
}

// MemberEventType says what happened to a member. A plain value.
type MemberEventType uint8

// Member event types.
const (
	MemberJoin MemberEventType = iota
	MemberLeave
	MemberUpdate
)

// String returns the event type's name.
func (t MemberEventType) String() string {
	switch t {
	case MemberJoin:
		return "join"
	case MemberLeave:
		return "leave"
	case MemberUpdate:
		return "update"
	}
	return "unknown"
}

// Member is a live node of the mesh. A plain value.
type Member struct {
	Name string
	Addr string // host:port
}

// MemberEvent reports a membership change. A plain value.
type MemberEvent struct {
	Type   MemberEventType
	Member Member
}

// Node is one member of a syncmesh: it serves a document, gossips its
// changes over memberlist and repairs what gossip loses. All methods are
// safe for concurrent use.
type Node struct {
	cfg  Config
	log  *slog.Logger
	meta []byte

	mu   sync.Mutex // guards core and doc
	core *Core
	doc  LocalDocument

	queue   *memberlist.TransmitLimitedQueue
	inbox   chan []byte // gossip: Change and Announce messages
	control chan []byte // everything else: repair, fetch, snapshots
	outbox  chan Send
	events  chan MemberEvent // public, bounded
	joins   chan string      // joined peers to sync with at once, bounded

	reconnect *reconnector // failed members to rejoin (reconnect.go)

	lifeMu  sync.Mutex // guards ml, started, closed, cancel
	ml      *memberlist.Memberlist
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	watchMu  sync.Mutex
	watchers map[*watcher]struct{}

	// membersMu guards members: copies of the live memberlist nodes, kept
	// from event callbacks, because the *memberlist.Node values that
	// Memberlist.Members returns are updated by memberlist without a lock
	// the caller can take.
	membersMu sync.Mutex
	members   map[string]memberlist.Node

	refusedMu sync.Mutex
	refused   map[string]struct{} // peers already logged as incompatible

	// durable is the document when Config.DataDir is set (also in doc),
	// else nil. Guarded by mu.
	durable *durableDocument
	// store is durable's store, or nil; closed by Close.
	store store.Store
	// failure is why the store failed (the Node then fails closed), or nil.
	failure atomic.Pointer[error]
	// compaction is the compaction state (compact.go), created on first
	// use. Guarded by mu.
	compaction *nodeCompaction

	// pubMu guards pubQ: local updates written but not yet published
	// (watchers notified, change gossiped), in sequence order. Taken under
	// mu, never the other way round.
	pubMu sync.Mutex
	pubQ  []*pendingUpdate

	stats     nodeStats
	collector *collector // registered on cfg.Registerer, or nil
}

// pendingUpdate is a local change waiting for its store Ack before it is
// published, or (remote set, ack nil) a remote apply's event queued behind
// such changes so that watchers see events in the order the document
// applied them.
type pendingUpdate struct {
	ack     *store.Ack
	out     Output
	patches []draft.Patch
	remote  bool
}

type watcher struct {
	ch chan Event
}

// New validates cfg and returns a Node. Nothing listens until Start.
//
// With Config.DataDir, New opens the store there and restores the document
// from it (snapshot, log, quarantine), resuming the clock from its stored
// bound. It refuses to start, with an error wrapping the store's
// (store.ErrCorrupt, store.ErrForeignMesh, store.ErrFingerprint,
// store.ErrLocked, ...), when the directory is damaged or belongs to another
// mesh or strategy table; it never repairs or overwrites it.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var dd *durableDocument
	if cfg.DataDir != "" {
		var err error
		if dd, err = openDurable(context.Background(), cfg); err != nil {
			return nil, err
		}
		cfg.Document, cfg.Replica = dd, dd.self
	} else if cfg.Document == nil {
		for cfg.Replica == 0 {
			var b [8]byte
			_, _ = crand.Read(b[:])
			cfg.Replica = clock.ReplicaID(binary.LittleEndian.Uint64(b[:]))
		}
		doc, err := newCRDTDocument(cfg)
		if err != nil {
			return nil, err
		}
		cfg.Document = doc
	}
	seed := cfg.Seed
	if seed == 0 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", cfg.Name, time.Now().UnixNano())
		seed = h.Sum64()
	}
	n, err := newNode(cfg, dd, seed)
	if err != nil && dd != nil {
		_ = dd.st.Close()
	}
	return n, err
}

// newNode builds the Node around cfg.Document.
func newNode(cfg Config, dd *durableDocument, seed uint64) (*Node, error) {
	core, err := NewCore(CoreConfig{
		Name:               cfg.Name,
		FastPathBytes:      cfg.FastPathBytes,
		AntiEntropyMillis:  cfg.AntiEntropyInterval.Milliseconds(),
		ChunkBytes:         cfg.ChunkBytes,
		ChunksPerReply:     cfg.ChunksPerReply,
		SnapshotMissingOps: cfg.SnapshotMissingOps,
		KeepPeerVersions:   true, // the compaction frontier (compact.go)
		Seed:               seed,
	}, cfg.Document)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{
		cfg:      cfg,
		log:      logger.With("node", cfg.Name),
		meta:     nodeMeta(cfg.Document.Fingerprint()),
		core:     core,
		doc:      cfg.Document,
		inbox:    make(chan []byte, cfg.InboxSize),
		control:  make(chan []byte, cfg.InboxSize),
		outbox:   make(chan Send, cfg.OutboxSize),
		events:   make(chan MemberEvent, cfg.EventBuffer),
		joins:    make(chan string, cfg.EventBuffer),
		watchers: map[*watcher]struct{}{},
		refused:  map[string]struct{}{},
		members:  map[string]memberlist.Node{},
	}
	n.reconnect = newReconnector(cfg.ReconnectInterval, cfg.ReconnectTimeout, seed)
	if dd != nil {
		n.durable, n.store = dd, dd.st
		dd.onFail = n.fail
		if dd.failed != nil { // a write during the restore failed
			n.fail(dd.failed)
		}
	}
	n.stats.init()
	n.queue = &memberlist.TransmitLimitedQueue{NumNodes: n.numNodes, RetransmitMult: cfg.RetransmitMult}
	if cfg.Registerer != nil {
		n.collector = newCollector(n)
		if err := cfg.Registerer.Register(n.collector); err != nil {
			return nil, fmt.Errorf("mesh: registering metrics: %w", err)
		}
	}
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Replica returns the replica id of the node's document: Config.Replica,
// the id stored in Config.DataDir, or the random id New drew. With a
// Config.Document it is Config.Replica as given.
func (n *Node) Replica() clock.ReplicaID { return n.cfg.Replica }

func (n *Node) numNodes() int {
	n.lifeMu.Lock()
	ml := n.ml
	n.lifeMu.Unlock()
	if ml == nil {
		return 1
	}
	return ml.NumMembers()
}

// Start creates the memberlist instance (it starts listening) and the
// node's goroutines. ctx bounds startup only; stop the node with Close.
func (n *Node) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	switch {
	case n.closed:
		return ErrClosed
	case n.started:
		return ErrStarted
	}
	mc, err := n.cfg.memberlistConfig()
	if err != nil {
		return err
	}
	d := delegate{n}
	mc.Delegate, mc.Events, mc.Alive, mc.Merge = d, d, d, d
	mc.Logger = log.New(&memberlistLog{n.log}, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("mesh: starting memberlist: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.ml, n.started, n.cancel = ml, true, cancel
	n.wg.Add(2 + n.cfg.SendWorkers)
	go n.loop(runCtx)
	go n.reconnectLoop(runCtx)
	for range n.cfg.SendWorkers {
		go n.sender(runCtx)
	}
	n.log.Info("mesh node started", "addr", n.addrLocked())
	return nil
}

func (n *Node) addrLocked() string {
	ln := n.ml.LocalNode()
	return net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port)))
}

// Addr returns the address peers use to reach this node (host:port), or ""
// before Start.
func (n *Node) Addr() string {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.ml == nil {
		return ""
	}
	return n.addrLocked()
}

func (n *Node) memberlist() (*memberlist.Memberlist, error) {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	switch {
	case n.closed:
		return nil, ErrClosed
	case n.ml == nil:
		return nil, ErrNotStarted
	}
	return n.ml, nil
}

// Join contacts the given peers (host:port) and joins their mesh. It
// returns how many peers were contacted successfully. memberlist's join
// cannot be interrupted: when ctx ends first, Join returns ctx's error and
// the join finishes in the background.
func (n *Node) Join(ctx context.Context, peers []string) (int, error) {
	ml, err := n.memberlist()
	if err != nil {
		return 0, err
	}
	type result struct {
		k   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := ml.Join(peers)
		done <- result{k, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return r.k, fmt.Errorf("mesh: join: %w", r.err)
		}
		return r.k, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Leave announces that this node is leaving, waiting until the
// announcement has gone out or ctx ends (default 5 s without a deadline).
// The node keeps serving until Close.
func (n *Node) Leave(ctx context.Context) error {
	ml, err := n.memberlist()
	if err != nil {
		return err
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := ml.Leave(timeout); err != nil {
		return fmt.Errorf("mesh: leave: %w", err)
	}
	return nil
}

// Close stops the node's goroutines and memberlist. It does not announce a
// leave (call Leave first for a graceful exit). It waits for sends in
// flight, which for a dead peer can take up to memberlist's TCP timeout
// (10 s LAN). Close is idempotent.
func (n *Node) Close() error {
	n.lifeMu.Lock()
	if n.closed {
		n.lifeMu.Unlock()
		return nil
	}
	n.closed = true
	ml, cancel := n.ml, n.cancel
	n.lifeMu.Unlock()
	var err error
	if cancel != nil {
		cancel()
		n.wg.Wait()
	}
	if ml != nil {
		err = ml.Shutdown()
	}
	if n.store != nil {
		// Commits what is queued (every Update that returned nil already
		// is), then releases the data file.
		if serr := n.store.Close(); serr != nil {
			err = errors.Join(err, fmt.Errorf("mesh: closing the store: %w", serr))
		}
		n.publish()
	}
	n.watchMu.Lock()
	for w := range n.watchers {
		delete(n.watchers, w)
		close(w.ch)
	}
	n.watchMu.Unlock()
	if n.collector != nil {
		n.cfg.Registerer.Unregister(n.collector)
	}
	return err
}

// Update runs recipe on a draft of the current state, applies the change
// locally and disseminates it. It returns the recipe's error, or the
// document's. Update works before Start too; the change is gossiped once
// the node runs.
//
// With Config.DataDir (and NoSync false), Update returns nil only once the
// change is durable (fsynced): that is what "acknowledged" means. The change
// is shown to watchers and sent to peers only then. If ctx ends first,
// Update returns ctx's error and the change may or may not survive a crash
// (it is sent once durable). Concurrent Updates share one commit; to keep
// many updates in flight from one goroutine, use UpdateAsync.
func (n *Node) Update(ctx context.Context, recipe func(d *draft.Draft) error) error {
	p, err := n.UpdateAsync(ctx, recipe)
	if err != nil {
		return err
	}
	return p.Wait(ctx)
}

// Pending is an update made by UpdateAsync, possibly not durable yet. It is
// safe for concurrent use.
type Pending struct {
	n   *Node
	ack *store.Ack // nil: complete from the start
}

// closedChan is the Done channel of a Pending complete from the start.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Wait blocks until the update is durable (then it has been published to
// watchers and peers) or ctx ends. It returns nil when durable, an error
// wrapping ErrStorage when the store failed (the Node has failed closed),
// or ctx's error (the update may still become durable).
func (p *Pending) Wait(ctx context.Context) error {
	if p.ack == nil {
		return nil
	}
	err := p.ack.Wait(ctx)
	select {
	case <-p.ack.Done():
	default:
		return err // ctx ended first
	}
	p.n.publish()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// Done is closed when the update is durable or the store has failed; then
// Wait returns at once.
func (p *Pending) Done() <-chan struct{} {
	if p.ack == nil {
		return closedChan
	}
	return p.ack.Done()
}

// UpdateAsync is Update without the wait for durability: it applies the
// change in memory, hands it to the store and returns. The change is
// published (watchers, peers) once durable, whether or not anyone calls
// Wait; until then anti-entropy does not serve it either. Updates are
// acknowledged in the order they were made, so a caller can keep many in
// flight and Wait for them in order; they then share group commits. Without
// Config.DataDir the Pending is complete at once. The error is the
// recipe's, the document's, ErrClosed, or one wrapping ErrStorage.
func (n *Node) UpdateAsync(ctx context.Context, recipe func(d *draft.Draft) error) (*Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.lifeMu.Lock()
	closed := n.closed
	n.lifeMu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := n.failed(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	ch, a, err := n.doc.Update(recipe)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	var out Output
	if ch.Replica != 0 {
		out = n.core.Local(ch)
	}
	if n.durable == nil || ch.Replica == 0 {
		n.mu.Unlock()
		if len(a.Patches) > 0 {
			n.notify(Event{Local: true, Patches: a.Patches})
		}
		n.dispatch(out)
		return &Pending{n: n}, nil
	}
	ack, err := n.durable.writeLocal(ch)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	n.pubMu.Lock()
	n.pubQ = append(n.pubQ, &pendingUpdate{ack: ack, out: out, patches: a.Patches})
	n.pubMu.Unlock()
	n.mu.Unlock()
	return &Pending{n: n, ack: ack}, nil
}

// publish notifies watchers of, and disseminates, the local updates at the
// front of the queue whose writes have completed, in order. Acks complete
// in write order, so it stops at the first one still waiting.
func (n *Node) publish() {
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	i := 0
	for ; i < len(n.pubQ); i++ {
		pu := n.pubQ[i]
		if pu.remote {
			n.notify(Event{Patches: pu.patches})
			continue
		}
		select {
		case <-pu.ack.Done():
		default:
			n.dropPublished(i)
			return
		}
		if err := pu.ack.Wait(context.Background()); err != nil {
			n.fail(fmt.Errorf("%w: %w", ErrStorage, err))
			continue
		}
		if len(pu.patches) > 0 {
			n.notify(Event{Local: true, Patches: pu.patches})
		}
		n.dispatch(pu.out)
	}
	n.dropPublished(i)
}

// queueEvents is called under mu right after a core call that may have
// applied remote changes: while local updates wait for durability, the
// events in out are queued behind them (and taken out of out), so watchers
// see events in the document's order.
func (n *Node) queueEvents(out *Output) {
	if n.durable == nil || len(out.Applied) == 0 {
		return
	}
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	if len(n.pubQ) == 0 {
		return
	}
	for _, a := range out.Applied {
		if len(a.Patches) > 0 {
			n.pubQ = append(n.pubQ, &pendingUpdate{patches: a.Patches, remote: true})
		}
	}
	out.Applied = nil
}

func (n *Node) dropPublished(i int) {
	k := copy(n.pubQ, n.pubQ[i:])
	clear(n.pubQ[k:])
	n.pubQ = n.pubQ[:k]
}

// fail puts the Node in the failed state (the first cause is kept): it
// acknowledges no more updates. Safe to call with or without mu held.
func (n *Node) fail(err error) {
	if n.failure.CompareAndSwap(nil, &err) {
		n.log.Error("storage failed: the node acknowledges no more updates; restart it to re-check the data directory", "err", err)
	}
}

// failed returns why the Node failed closed, or nil.
func (n *Node) failed() error {
	if p := n.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// State returns the current state. The Value is immutable and safe to keep.
func (n *Node) State() draft.Value {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.doc.State()
}

// Conflicts returns the live concurrent values at path when there are two
// or more that do not merge (see crdt.Doc.Conflicts), or nil. It is nil
// for a Config.Document that does not report conflicts.
func (n *Node) Conflicts(path draft.Path) []crdt.Conflict {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.doc.(interface {
		Conflicts(draft.Path) []crdt.Conflict
	}); ok {
		return c.Conflicts(path)
	}
	return nil
}

// Version returns a copy of the document's version vector.
func (n *Node) Version() VersionVector {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.doc.Version()
}

// Watch returns a channel of Events, one per local or remote batch that
// changed the visible state, until ctx ends or the node closes (then the
// channel is closed). Each watcher has a buffer of Config.WatchBuffer
// events; when it is full, new events for that watcher are dropped and
// counted (Status().WatchDrops), never blocking the mesh. A watcher that
// must not miss anything re-reads State after a drop.
func (n *Node) Watch(ctx context.Context) <-chan Event {
	w := &watcher{ch: make(chan Event, n.cfg.WatchBuffer)}
	n.watchMu.Lock()
	n.lifeMu.Lock()
	closed := n.closed
	n.lifeMu.Unlock()
	if closed {
		n.watchMu.Unlock()
		close(w.ch)
		return w.ch
	}
	n.watchers[w] = struct{}{}
	n.watchMu.Unlock()
	context.AfterFunc(ctx, func() {
		n.watchMu.Lock()
		defer n.watchMu.Unlock()
		if _, ok := n.watchers[w]; ok {
			delete(n.watchers, w)
			close(w.ch)
		}
	})
	return w.ch
}

func (n *Node) notify(e Event) {
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	for w := range n.watchers {
		select {
		case w.ch <- e:
		default:
			n.stats.watchDrops.Add(1)
		}
	}
}

// Members returns the live members, this node included, sorted by name.
// Empty before Start.
func (n *Node) Members() []Member {
	n.membersMu.Lock()
	defer n.membersMu.Unlock()
	out := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		out = append(out, Member{Name: m.Name, Addr: m.Address()})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// MemberEvents returns the channel of membership events. It is bounded
// (Config.EventBuffer); events are dropped and counted when nobody reads
// it. It is never closed.
func (n *Node) MemberEvents() <-chan MemberEvent { return n.events }

// memberEvent is called by memberlist (never concurrently with itself,
// with memberlist's node lock held, so node may be read here).
func (n *Node) memberEvent(t MemberEventType, node *memberlist.Node) {
	n.membersMu.Lock()
	if t == MemberLeave {
		delete(n.members, node.Name)
	} else {
		n.members[node.Name] = *node
	}
	n.membersMu.Unlock()
	if node.Name == n.cfg.Name {
		return
	}
	e := MemberEvent{Type: t, Member: Member{Name: node.Name, Addr: node.Address()}}
	select {
	case n.events <- e:
	default:
		n.stats.eventDrops.Add(1)
	}
	if t == MemberJoin {
		select {
		case n.joins <- node.Name:
		default:
			n.stats.eventDrops.Add(1)
		}
	}
}

// admit checks a peer's metadata (called by memberlist, concurrently).
func (n *Node) admit(peer *memberlist.Node) error {
	err := checkMeta(n.meta, peer.Meta)
	if err == nil {
		return nil
	}
	n.stats.refusedPeers.Add(1)
	n.refusedMu.Lock()
	_, logged := n.refused[peer.Name]
	if !logged && len(n.refused) < 1024 {
		n.refused[peer.Name] = struct{}{}
	}
	n.refusedMu.Unlock()
	if !logged {
		n.log.Warn("refusing incompatible peer", "peer", peer.Name, "addr", peer.Address(), "err", err)
	}
	return err
}

// inboxBatch is the most received messages the protocol loop hands the
// core in one call.
const inboxBatch = 128

// loop is the protocol loop: the only goroutine that feeds the core
// messages, ticks and membership changes.
func (n *Node) loop(ctx context.Context) {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.TickInterval)
	defer tick.Stop()
	batch := make([][]byte, 0, inboxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-n.control:
			batch = n.receive(append(batch[:0], b))
		case b := <-n.inbox:
			batch = n.receive(append(batch[:0], b))
		case peer := <-n.joins:
			n.mu.Lock()
			n.core.PeerUp(peer)
			out := n.core.SyncWith(peer)
			n.mu.Unlock()
			n.dispatch(out)
		case <-tick.C:
			n.refreshPeers()
			n.mu.Lock()
			out := n.core.Tick(n.cfg.Physical.NowMillis())
			n.queueEvents(&out)
			n.mu.Unlock()
			n.dispatch(out)
			// Local updates that became durable with nobody waiting.
			n.publish()
			n.compactTick(ctx, n.cfg.Physical.NowMillis())
		}
	}
}

// receive hands the core batch plus whatever else is waiting (up to
// inboxBatch messages, repair traffic first). Repair traffic goes one
// message per call and lock: a repair or fetch chunk can carry a thousand
// changes, and a batch of them held the lock local Updates need for
// hundreds of milliseconds under load. Gossip (small changes and
// announcements) goes in one call, so gossiped changes reach the document
// in one Apply. It returns batch emptied, for reuse.
func (n *Node) receive(batch [][]byte) [][]byte {
	for _, ch := range []chan []byte{n.control, n.inbox} {
	drain:
		for len(batch) < inboxBatch {
			select {
			case b := <-ch:
				batch = append(batch, b)
			default:
				break drain
			}
		}
	}
	gossip := 0
	for _, b := range batch {
		if t := peekType(b); t == TypeChange || t == TypeAnnounce {
			batch[gossip] = b
			gossip++
			continue
		}
		n.receiveLocked([][]byte{b})
	}
	if gossip > 0 {
		n.receiveLocked(batch[:gossip])
	}
	clear(batch)
	return batch[:0]
}

// receiveLocked hands msgs to the core in one call under the lock and
// carries out the output.
func (n *Node) receiveLocked(msgs [][]byte) {
	n.mu.Lock()
	out, errs := n.core.ReceiveBatch(n.cfg.Physical.NowMillis(), msgs)
	n.queueEvents(&out)
	n.mu.Unlock()
	for _, err := range errs {
		n.log.Debug("message rejected", "err", err)
	}
	n.dispatch(out)
}

// refreshPeers makes the core's peer list memberlist's live members, so
// dropped membership events cannot leave it stale for long.
func (n *Node) refreshPeers() {
	live := map[string]bool{}
	n.membersMu.Lock()
	for name := range n.members {
		live[name] = true
	}
	n.membersMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.core.Peers() {
		if !live[p] {
			n.core.PeerDown(p)
		}
	}
	for p := range live {
		n.core.PeerUp(p)
	}
}

// dispatch carries out a core Output: gossip, direct sends, watcher events.
func (n *Node) dispatch(out Output) {
	for _, b := range out.Broadcasts {
		n.queue.QueueBroadcast(&broadcast{key: b.Key, msg: b.Msg})
	}
	if len(out.Broadcasts) > 0 {
		if q := n.queue.NumQueued(); q > n.cfg.BroadcastQueueLimit {
			n.queue.Prune(n.cfg.BroadcastQueueLimit)
			n.stats.broadcastPruned.Add(uint64(q - n.cfg.BroadcastQueueLimit))
		}
	}
	for _, s := range out.Sends {
		if len(s.Msg) > n.cfg.MaxMessageBytes {
			n.stats.sendDrops.Add(1)
			n.log.Warn("message over MaxMessageBytes not sent", "to", s.To, "type", peekType(s.Msg), "bytes", len(s.Msg))
			continue
		}
		select {
		case n.outbox <- s:
		default:
			n.stats.sendDrops.Add(1)
		}
	}
	for _, a := range out.Applied {
		if len(a.Patches) > 0 {
			n.notify(Event{Patches: a.Patches})
		}
	}
}

// sender sends direct messages from the outbox.
func (n *Node) sender(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-n.outbox:
			n.send(s)
		}
	}
}

func (n *Node) send(s Send) {
	ml, err := n.memberlist()
	if err != nil {
		return
	}
	n.membersMu.Lock()
	to, ok := n.members[s.To]
	n.membersMu.Unlock()
	if !ok {
		n.stats.sendDrops.Add(1)
		return
	}
	if s.Reliable {
		err = ml.SendReliable(&to, s.Msg)
	} else {
		err = ml.SendBestEffort(&to, s.Msg)
	}
	if err != nil {
		n.stats.sendErrors.Add(1)
		n.log.Debug("send failed", "to", s.To, "type", peekType(s.Msg), "err", err)
		return
	}
	n.stats.sent(peekType(s.Msg), len(s.Msg))
}

// memberlistLog forwards memberlist's log lines to slog.
type memberlistLog struct{ log *slog.Logger }

func (l *memberlistLog) Write(p []byte) (int, error) {
	msg := string(p)
	level := slog.LevelDebug
	if strings.Contains(msg, "[WARN]") || strings.Contains(msg, "[ERR]") {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "memberlist", "msg", msg)
	return len(p), nil
}
