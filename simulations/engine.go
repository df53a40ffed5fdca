package simulations

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/mesh"
)

// epochMillis is virtual time zero, as Unix milliseconds: timestamps look
// like real ones (2023-11-14) and are far from the clock's limits.
const epochMillis = 1_700_000_000_000

// Options are the run's settings that are not part of the scenario.
type Options struct {
	// Source is the scenario file, used in the reproduce command printed on
	// a violation. Default "SCENARIO".
	Source string
	// Progress, when non-nil, receives a progress bar (carriage-return
	// updated) while the run goes. Default nil: silent.
	Progress io.Writer
	// EverySecond, when non-nil, is called each time the virtual clock
	// passes a whole second, with that second (profiling hooks: a heap
	// profile in the middle of a run). Default nil.
	EverySecond func(second int64)
}

// node is one simulated node: a protocol core over a crdt document with
// its own manual physical clock, and a model of memberlist's broadcast
// queue. The fields every event reads come first, with the physical
// clock held in place, so that an event's first touch of its node loads
// them together (the clock behind a pointer was one more cache miss per
// event at 10,000 nodes).
type node struct {
	offset  int64
	maxPhys int64
	phys    clock.Manual
	ad      *docAdapter
	core    *mesh.Core
	q       gossipQueue
	idx     int32
	inc     uint32
	up      bool
	gone    bool // left or crashed for good
	docLost bool // went down without its disk
	member  bool // chosen as a gossip target by the others
	name    string
	clk     *clock.Clock
	doc     *crdt.Doc
	replica clock.ReplicaID
}

// Sim is engine 1: a deterministic, single-threaded, virtual-time
// discrete-event simulation of a syncmesh mesh. It drives real mesh.Cores
// over real crdt.Docs. A Sim is not safe for concurrent use; run one Sim
// per goroutine.
type Sim struct {
	sc   Scenario
	opts Options
	now  int64 // µs
	q    eventQueue

	nodes []*node
	names []string // nodes[i].name, side by side: see nodeNamed
	// liveInc[i] is nodes[i].inc while it is up, else 0: events are
	// checked against it (upNode) and stamped from it without reading
	// the node, a cache miss per event at 10,000 nodes.
	liveInc []uint32
	byName  map[string]int32
	members []int32
	live    int

	rGossip, rWork, rFault, rView *rand.Rand
	zipf                          *rand.Zipf
	net                           network

	strat   *crdt.Strategies
	fp      []byte
	cache   changeCache
	bcasts  map[string]*bcast
	keys    keyTable
	nextRep clock.ReplicaID

	wr        writeRegistry
	heals     []int64
	workEnd   int64
	faultEnd  int64
	deadline  int64
	lastWrite int // index of the last write, for conflicts
	writesDue int

	st        counters
	viol      *Violation
	pktDelays []int64
	msgBuf    []mesh.Received
	reps      replicaIndex
	ppool     packetPool
	btab      bcastTable
	// outs recycles the cores' Outputs: handle gives each back once
	// carried out (an allocation or three per call into a core). It is
	// SizesOnly: see New.
	outs     mesh.OutputPool
	progress int
	second   int64 // the last whole virtual second passed to EverySecond
}

// counters are the run's traffic and buffer figures.
type counters struct {
	gossipPackets, gossipBytes uint64
	streamMsgs, streamBytes    uint64
	dropsDead, dropsPruned     uint64
	duplicates                 uint64
	rejected                   uint64
	queuePeak, pendingPeak     int
	quarantinePeak             int
	bytesPerSec                []uint64
	skippedWrites              int
}

// seeds derives independent stream seeds from the scenario seed.
func seeds(seed uint64, stream uint64) (uint64, uint64) {
	x := seed ^ (stream * 0x9e3779b97f4a7c15)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x, x ^ 0xd1b54a32d192ed03
}

func newRand(seed, stream uint64) *rand.Rand {
	a, b := seeds(seed, stream)
	return rand.New(rand.NewPCG(a, b))
}

// New prepares a run of sc (defaults applied, validated).
func New(sc Scenario, opts Options) (*Sim, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	sc = sc.Defaults()
	if opts.Source == "" {
		opts.Source = "SCENARIO"
	}
	s := &Sim{
		sc:        sc,
		opts:      opts,
		byName:    make(map[string]int32, sc.Nodes),
		rGossip:   newRand(sc.Seed, 1),
		rWork:     newRand(sc.Seed, 2),
		rFault:    newRand(sc.Seed, 3),
		rView:     newRand(sc.Seed, 4),
		net:       network{rng: newRand(sc.Seed, 5), base: sc.Network, initialN: sc.Nodes},
		strat:     crdt.NewStrategies().MustSet("/cnt/*", crdt.Count()),
		cache:     make(changeCache),
		bcasts:    make(map[string]*bcast),
		lastWrite: -1,
	}
	// Streams reach their receivers as the sender's message (mesh's
	// Send.Message): the bytes are only counted, so the cores measure
	// them instead of encoding (an allocation per stream message).
	s.outs.SizesOnly = true
	fp := s.strat.Fingerprint()
	s.fp = fp[:]
	if sc.Workload.Distribution == "zipf" && sc.Workload.Keys > 1 {
		s.zipf = rand.NewZipf(s.rWork, sc.Workload.ZipfS, 1, uint64(sc.Workload.Keys-1))
	}
	s.wr.init()
	w := sc.Workload
	s.workEnd = w.Start.Micros() + int64(float64(w.Writes)/w.Rate*1e6)
	for _, f := range sc.Faults {
		s.faultEnd = max(s.faultEnd, f.At.Micros(), f.Until.Micros())
		if f.Kind == FaultCrash && f.Restart > 0 {
			s.faultEnd = max(s.faultEnd, f.At.Micros()+f.Restart.Micros())
		}
	}
	s.deadline = sc.Duration.Micros()
	return s, nil
}

func (s *Sim) nowMs(n *node) int64 {
	return epochMillis + s.now/1000 + n.offset
}

// enter sets n's physical clock to now before a call into its core.
func (s *Sim) enter(n *node) int64 {
	ms := s.nowMs(n)
	n.phys.Set(ms)
	n.maxPhys = max(n.maxPhys, ms)
	return ms
}

// leaveNode checks the per-node invariants after a call into n.
func (s *Sim) checkNode(n *node) {
	if s.viol != nil {
		return
	}
	if l := n.q.len(); l > s.sc.Gossip.QueueLimit {
		s.violate("bounded-queues", fmt.Sprintf("node %s broadcast queue %d > limit %d", n.name, l, s.sc.Gossip.QueueLimit))
	}
	s.st.queuePeak = max(s.st.queuePeak, n.q.len())
	p := n.doc.PendingLen()
	s.st.pendingPeak = max(s.st.pendingPeak, p)
	if p > s.sc.Mesh.MaxPending {
		s.violate("bounded-queues", fmt.Sprintf("node %s pending %d > limit %d", n.name, p, s.sc.Mesh.MaxPending))
	}
	s.st.quarantinePeak = max(s.st.quarantinePeak, n.ad.quar)
	if n.ad.quar > crdt.DefaultMaxQuarantine {
		s.violate("bounded-queues", fmt.Sprintf("node %s quarantine %d > limit %d", n.name, n.ad.quar, crdt.DefaultMaxQuarantine))
	}
	// No far-future timestamp applied: the clock, which every applied
	// change's timestamp has passed through, is within MaxDrift of the
	// highest physical time this node has read (+1 ms per 65,536 stamps).
	if last := n.clk.Last().Wall; last > n.maxPhys+s.sc.Mesh.MaxDrift.Millis()+1 {
		s.violate("no-far-future", fmt.Sprintf("node %s clock at %d ms, physical %d ms, max drift %d ms: a far-future timestamp was applied",
			n.name, last, n.maxPhys, s.sc.Mesh.MaxDrift.Millis()))
	}
}

func (s *Sim) violate(invariant, detail string) {
	if s.viol != nil {
		return
	}
	s.viol = &Violation{
		Scenario:  s.sc.Name,
		Seed:      s.sc.Seed,
		AtMillis:  s.now / 1000,
		Invariant: invariant,
		Detail:    detail,
		Command:   fmt.Sprintf("go run ./cmd/syncmesh-sim run %s --seed %d", s.opts.Source, s.sc.Seed),
	}
}

func nodeName(i int) string { return fmt.Sprintf("n%05d", i) }

// nodeNamed returns the index of the node named name. Names are
// nodeName(index), so it is read from the digits and checked, instead of
// a lookup in a map of every node (a cache miss per message sent at
// 10,000 nodes); a name of another form falls back to the map. The check
// reads names, not the node (another cache miss per message: 1.9 s of
// the 10,000-node run went to this function); the strings compare by
// pointer first, and a core names its peers with the strings given it.
func (s *Sim) nodeNamed(name string) (int32, bool) {
	if len(name) >= 6 && len(name) <= 10 && name[0] == 'n' {
		i := 0
		for _, c := range []byte(name[1:]) {
			if c < '0' || c > '9' {
				i = -1
				break
			}
			i = i*10 + int(c-'0')
		}
		if i >= 0 && i < len(s.names) && s.names[i] == name {
			return int32(i), true
		}
	}
	i, ok := s.byName[name]
	return i, ok
}

// startNode brings node i up: a new node (n == nil), a restart without disk
// (fresh document, new replica) or a restart with disk (same document).
func (s *Sim) startNode(i int, keepDoc bool) error {
	var n *node
	if i < len(s.nodes) {
		n = s.nodes[i]
	} else {
		n = &node{idx: int32(i), name: nodeName(i)}
		s.nodes = append(s.nodes, n)
		s.names = append(s.names, n.name)
		s.liveInc = append(s.liveInc, 0)
		s.byName[n.name] = int32(i)
	}
	n.inc++
	n.up, n.gone, n.docLost = true, false, false
	s.liveInc[i] = n.inc
	s.enter(n)
	if !keepDoc || n.doc == nil {
		s.nextRep++
		n.replica = s.nextRep
		clk, err := clock.New(clock.Config{Replica: n.replica, Physical: &n.phys, MaxDrift: timeDur(s.sc.Mesh.MaxDrift)})
		if err != nil {
			return err
		}
		cfg := crdt.DefaultConfig(n.replica, clk)
		cfg.Strategies = s.strat
		cfg.MaxPending = s.sc.Mesh.MaxPending
		// Nothing watches a simulated replica's changes: its state is
		// rendered when the invariants read it, not patched after every
		// change (a tenth of the 10,000-node run was patches nobody read).
		cfg.SkipPatches = true
		doc, err := crdt.New(cfg)
		if err != nil {
			return err
		}
		n.clk, n.doc = clk, doc
		idx := i
		n.ad = newDocAdapter(doc, s.fp, s.cache, &s.reps, func(r clock.ReplicaID, from, to uint64) { s.advance(idx, r, from, to) })
		n.ad.violate = s.violate
		n.q = gossipQueue{tab: &s.btab}
	} else {
		// Back with its disk: it holds what it held before the crash.
		for _, r := range n.ad.version().Replicas() {
			s.advance(i, r, 0, n.ad.version()[r])
		}
		n.q = gossipQueue{tab: &s.btab}
	}
	a, b := seeds(s.sc.Seed, uint64(i)<<20|uint64(n.inc))
	core, err := mesh.NewCore(mesh.CoreConfig{
		Name:               n.name,
		FastPathBytes:      s.sc.Mesh.FastPathBytes,
		AntiEntropyMillis:  s.sc.Mesh.AntiEntropy.Millis(),
		SeenCapacity:       s.sc.Mesh.SeenCapacity,
		SnapshotMissingOps: s.sc.Mesh.SnapshotMissingOps,
		Seed:               a ^ b,
		Outputs:            &s.outs,
	}, n.ad)
	if err != nil {
		return err
	}
	n.core = core
	s.live++
	s.addMember(n)
	s.q.push(event{at: s.now + s.rGossip.Int64N(s.sc.Gossip.Interval.Micros()+1), kind: evGossip, node: n.idx, inc: n.inc})
	s.q.push(event{at: s.now + s.rGossip.Int64N(s.sc.Mesh.Tick.Micros()+1), kind: evTick, node: n.idx, inc: n.inc})
	return nil
}

// addMember makes n a gossip target and gives it (and some others) peers.
func (s *Sim) addMember(n *node) {
	if !n.member {
		n.member = true
		s.members = append(s.members, n.idx)
	}
	view := s.sc.Gossip.PeerView
	var picked []int32
	if view >= len(s.members)-1 {
		picked = s.members
	} else {
		for range view {
			picked = append(picked, s.members[s.rView.IntN(len(s.members))])
		}
	}
	names := make([]string, 0, len(picked))
	for _, m := range picked {
		if m == n.idx {
			continue
		}
		names = append(names, s.nodes[m].name)
		// Symmetric: the peer learns of n too, keeping views about equal.
		if s.nodes[m].up {
			s.nodes[m].core.PeerUp(n.name)
		}
	}
	slices.Sort(names)
	for _, nm := range names {
		n.core.PeerUp(nm)
	}
}

// stopNode takes node i down (crash or leave). Its document stays for a
// restart with disk.
func (s *Sim) stopNode(i int, permanent, keepDoc bool) {
	n := s.nodes[i]
	if !n.up {
		return
	}
	n.up = false
	s.liveInc[i] = 0
	n.gone = permanent
	n.docLost = !keepDoc
	s.live--
	for _, r := range n.ad.version().Replicas() {
		s.wr.unhold(r, n.ad.version()[r])
	}
	if permanent || !keepDoc {
		s.wr.markLost(s)
	}
	s.wr.recheck(s)
	s.q.push(event{at: s.now + s.sc.Gossip.FailureDetection.Micros(), kind: evDetect, node: n.idx, inc: n.inc})
}

// detect removes a down node from membership and from every core's peers.
func (s *Sim) detect(e event) {
	n := s.nodes[e.node]
	if n.up || !n.member {
		return
	}
	n.member = false
	i := slices.Index(s.members, n.idx)
	s.members = slices.Delete(s.members, i, i+1)
	for _, o := range s.nodes {
		if o.up {
			o.core.PeerDown(n.name)
		}
	}
}

// Run runs the scenario to its end and returns the report, or a
// *Violation (with the seed and the command that reproduces it).
func (s *Sim) Run() (*Report, error) {
	for i := range s.sc.Nodes {
		if err := s.startNode(i, false); err != nil {
			return nil, err
		}
	}
	if s.sc.Workload.Writes > 0 {
		s.q.push(event{at: s.sc.Workload.Start.Micros(), kind: evWrite})
	}
	for i, f := range s.sc.Faults {
		s.q.push(event{at: f.At.Micros(), kind: evFault, node: int32(i)})
	}
	s.q.push(event{at: max(s.workEnd, s.faultEnd), kind: evCheck})
	converged := false
	for s.q.len() > 0 && s.viol == nil {
		e := s.q.pop()
		if e.at > s.deadline {
			break
		}
		s.now = e.at
		s.showProgress()
		if s.opts.EverySecond != nil && s.now/1_000_000 > s.second {
			s.second = s.now / 1_000_000
			s.opts.EverySecond(s.second)
		}
		switch e.kind {
		case evGossip:
			s.gossip(e)
		case evTick:
			s.tick(e)
		case evPacket:
			s.deliverPacket(e)
		case evStream:
			s.deliverStream(e)
		case evWrite:
			s.write()
		case evFault:
			s.fault(e)
		case evDetect:
			s.detect(e)
		case evCheck:
			if s.converged() {
				converged = true
			} else {
				s.q.push(event{at: s.now + 100_000, kind: evCheck})
			}
		}
		if converged {
			break
		}
	}
	if s.opts.Progress != nil {
		fmt.Fprint(s.opts.Progress, "\r\033[K")
	}
	if s.viol == nil && !converged {
		s.violate("convergence", fmt.Sprintf("not converged by the end of the run (%s): %d writes not on every live node",
			timeDur(s.sc.Duration), s.wr.unconverged))
	}
	if s.viol == nil {
		s.finalChecks()
	}
	if s.viol != nil {
		return nil, s.viol
	}
	return s.report(), nil
}

// converged reports whether the workload and faults are over and every
// live replica holds every surviving write with equal version vectors.
func (s *Sim) converged() bool {
	if s.writesDue < s.sc.Workload.Writes && s.live > 0 {
		return false
	}
	if s.wr.unconverged > 0 {
		return false
	}
	var ref *node
	for _, n := range s.nodes {
		if !n.up {
			continue
		}
		if ref == nil {
			ref = n
			continue
		}
		if !n.ad.version().Equal(ref.ad.version()) || n.ad.quar > 0 || n.doc.PendingLen() > 0 {
			return false
		}
	}
	return true
}

func (s *Sim) showProgress() {
	if s.opts.Progress == nil {
		return
	}
	end := max(s.workEnd, s.faultEnd) + 1
	pct := int(min(100, s.now*100/end))
	if pct == s.progress {
		return
	}
	s.progress = pct
	bar := make([]byte, 30)
	for i := range bar {
		bar[i] = ' '
		if i < pct*30/100 {
			bar[i] = '='
		}
	}
	fmt.Fprintf(s.opts.Progress, "\r[%s] %3d%%  t=%6.1fs  writes %d/%d  converging %d",
		bar, pct, float64(s.now)/1e6, s.writesDue, s.sc.Workload.Writes, s.wr.unconverged)
}

// upNode returns the node event e is for if it is up in the incarnation
// e was scheduled for, else nil.
func (s *Sim) upNode(e event) *node {
	if inc := s.liveInc[e.node]; inc == 0 || inc != e.inc {
		return nil
	}
	return s.nodes[e.node]
}

func (s *Sim) gossip(e event) {
	n := s.upNode(e)
	if n == nil {
		return
	}
	s.q.push(event{at: s.now + s.sc.Gossip.Interval.Micros(), kind: evGossip, node: n.idx, inc: n.inc})
	if n.q.len() == 0 || len(s.members) < 2 {
		return
	}
	g := s.sc.Gossip
	limit := retransmitLimit(g.RetransmitMult, len(s.members))
	room := g.PacketBytes - g.PacketOverhead
	var picked [8]int32
	targets := picked[:0]
	k := min(g.Fanout, len(s.members)-1)
	for tries := 0; len(targets) < k && tries < 3*len(s.members)+10; tries++ {
		m := s.members[s.rGossip.IntN(len(s.members))]
		if m == n.idx || slices.Contains(targets, m) {
			continue
		}
		targets = append(targets, m)
	}
	for _, t := range targets {
		pk := s.ppool.get()
		var used int
		pk.msgs, used = n.q.take(pk.msgs, room, g.MessageOverhead, limit)
		if len(pk.msgs) == 0 {
			s.ppool.release(pk)
			break
		}
		size := g.PacketOverhead + used
		s.count(false, size)
		s.pktDelays = s.net.packet(int(n.idx), int(t), s.now, s.pktDelays[:0])
		pk.refs = int32(len(s.pktDelays))
		if pk.refs == 0 {
			s.ppool.release(pk) // lost
			continue
		}
		for _, d := range s.pktDelays {
			s.q.push(event{at: s.now + d, kind: evPacket, node: t, inc: s.liveInc[t], from: n.idx, pkt: pk})
		}
	}
}

func (s *Sim) count(stream bool, size int) {
	if stream {
		s.st.streamMsgs++
		s.st.streamBytes += uint64(size)
	} else {
		s.st.gossipPackets++
		s.st.gossipBytes += uint64(size)
	}
	sec := int(s.now / 1_000_000)
	for len(s.st.bytesPerSec) <= sec {
		s.st.bytesPerSec = append(s.st.bytesPerSec, 0)
	}
	s.st.bytesPerSec[sec] += uint64(size)
}

func (s *Sim) tick(e event) {
	n := s.upNode(e)
	if n == nil {
		return
	}
	s.q.push(event{at: s.now + s.sc.Mesh.Tick.Micros(), kind: evTick, node: n.idx, inc: n.inc})
	now := s.enter(n)
	s.handle(n, n.core.Tick(now))
}

func (s *Sim) deliverPacket(e event) {
	defer s.ppool.release(e.pkt)
	n := s.upNode(e)
	if n == nil {
		s.st.dropsDead++
		return
	}
	now := s.enter(n)
	msgs := s.msgBuf[:0]
	skipped := false // an announcement the core would only count
	for _, p := range e.pkt.msgs {
		// What the duplicate check needs, from the packet entry (see
		// pent) or, when it could not hold it, from the broadcast.
		end, ridx, ann, known := uint64(p.end), p.ridx, p.ann, p.end != 0
		if !known && (p.change || p.announce) {
			end, ridx, ann, known = p.bcast.end, p.bcast.ridx, p.announce, true
		}
		if known && n.ad.holds(ridx, end) {
			// The core would count a duplicate and do nothing else;
			// skipping it is what lets 10,000 nodes run in minutes
			// (most receptions are duplicates: each change is sent
			// about 20 times by each of 10,000 nodes). Duplicate
			// changes are reported; announcements were never counted
			// in the report, and still are not.
			if ann {
				skipped = true
			} else {
				s.st.duplicates++
			}
			continue
		}
		b := p.bcast
		if b.dec == nil {
			// Cores only broadcast what they encoded; never reached.
			s.st.rejected++
			continue
		}
		msgs = append(msgs, mesh.Received{Raw: b.msg, Msg: b.dec, Size: int(b.size)})
	}
	if len(msgs) > 0 {
		// As mesh.Node does with what its inbox holds: one batch, so the
		// packet's changes reach the document in one Apply.
		out, errs := n.core.ReceiveDecoded(now, msgs)
		s.st.rejected += uint64(len(errs))
		s.handle(n, out)
	} else if skipped {
		// The core's time and gossip budget move as if it had read
		// the announcements (a packet of only duplicate changes never
		// reached it, and still does not).
		n.core.Advance(now)
	}
	clear(msgs)
	s.msgBuf = msgs[:0]
}

func (s *Sim) deliverStream(e event) {
	n := s.upNode(e)
	if n == nil {
		s.st.dropsDead++
		return
	}
	now := s.enter(n)
	// The sender's message itself (mesh.Send.Message), never encoded
	// (the pool is SizesOnly): decoding bytes gave the same message at
	// the cost of an allocation per change, per version vector entry.
	msgs := append(s.msgBuf[:0], mesh.Received{Msg: e.dec, Size: int(e.size)})
	out, errs := n.core.ReceiveDecoded(now, msgs)
	s.st.rejected += uint64(len(errs))
	clear(msgs)
	s.msgBuf = msgs[:0]
	s.handle(n, out)
}

// intern returns the shared *bcast for a broadcast: the last one made with
// the same key and bytes (every node re-gossips a change's bytes
// unchanged), or a new one. A key alone does not identify the bytes: each
// node's announcement for a replica has the same key and its own sender
// and sequence.
func (s *Sim) intern(b mesh.Broadcast) *bcast {
	if m, ok := b.Message.(*mesh.AnnounceMsg); ok {
		// A core announces each (replica, seq) once, under its own
		// name, and never relays another's: no two announcements have
		// the same bytes, so there is nothing to share and the map of
		// broadcasts (a string-keyed lookup and store per announcement,
		// and one key string hashed twice more) is skipped. kid is
		// unused for announcements: queues find them by aid, the
		// announced replica's number (an announcement's key is
		// "a/<replica>"; numbering keys by their strings instead was
		// 2.4 s of hashing at 10,000 nodes).
		// The cores' pool is SizesOnly, so an announcement comes
		// without bytes (an encoding and an allocation per node and
		// advance saved): only its length is needed.
		ridx := s.reps.of(m.Replica)
		size := len(b.Msg)
		if b.Msg == nil {
			size = mesh.EncodedSize(m)
		}
		return &bcast{key: b.Key, size: int32(size), kid: -1, msg: b.Msg, dec: m, slot: -1, aid: ridx,
			announce: true, ridx: ridx, end: m.Seq}
	}
	if x, ok := s.bcasts[b.Key]; ok && bytes.Equal(x.msg, b.Msg) {
		return x
	}
	x := &bcast{key: b.Key, size: int32(len(b.Msg)), kid: s.keys.of(b.Key), msg: b.Msg, slot: -1, aid: -1}
	// The core's own message (Broadcast.Message), or decoded once here,
	// shared by every node it reaches: each core decoding its own copy
	// was the largest per-delivery cost after crdt's apply. A Change or
	// Announce also gives its replica and end.
	m, err := b.Message, error(nil)
	if m == nil {
		m, err = mesh.Decode(b.Msg, 0)
	}
	if err == nil {
		x.dec = m
		switch m := m.(type) {
		case *mesh.ChangeMsg:
			x.change, x.ridx, x.end = true, s.reps.of(m.Change.Replica), m.Change.End
		case *mesh.AnnounceMsg: // given as bytes only: numbered as above
			x.announce, x.ridx, x.end = true, s.reps.of(m.Replica), m.Seq
			x.kid, x.aid = -1, x.ridx
		}
	}
	s.bcasts[b.Key] = x
	return x
}

// handle carries out a core's Output for node n.
func (s *Sim) handle(n *node, out mesh.Output) {
	for _, b := range out.Broadcasts {
		s.st.dropsPruned += uint64(n.q.queue(s.intern(b), s.sc.Gossip.QueueLimit))
	}
	for _, m := range out.Sends {
		to, ok := s.nodeNamed(m.To)
		if !ok {
			continue
		}
		s.count(true, m.Size)
		if m.Reliable {
			d, ok := s.net.stream(int(n.idx), int(to), s.now)
			if !ok {
				continue
			}
			s.q.push(event{at: s.now + d, kind: evStream, node: to, inc: s.liveInc[to], from: n.idx, size: int32(m.Size), dec: m.Message})
			continue
		}
		s.pktDelays = s.net.packet(int(n.idx), int(to), s.now, s.pktDelays[:0])
		for _, d := range s.pktDelays {
			s.q.push(event{at: s.now + d, kind: evStream, node: to, inc: s.liveInc[to], from: n.idx, size: int32(m.Size), dec: m.Message})
		}
	}
	s.outs.Put(out)
	s.checkNode(n)
}

// fault starts (or, for windowed faults, ends) timeline entry e.node.
func (s *Sim) fault(e event) {
	id := int(e.node)
	f := s.sc.Faults[id]
	if e.phase == 1 {
		switch f.Kind {
		case FaultCrash:
			if err := s.startNode(f.Node, f.Disk); err != nil {
				s.violate("restart", err.Error())
			}
			n := s.nodes[f.Node]
			if peers := n.core.Peers(); len(peers) > 0 {
				s.handle(n, n.core.SyncWith(peers[s.rFault.IntN(len(peers))]))
			}
			s.heals = append(s.heals, s.now)
		default:
			s.net.stop(id)
			if f.Kind == FaultPartition || f.Kind == FaultFlap {
				s.heals = append(s.heals, s.now)
			}
		}
		return
	}
	switch f.Kind {
	case FaultLoss, FaultBurstLoss, FaultDelay, FaultDuplicate, FaultReorder, FaultPartition, FaultFlap:
		s.net.start(id, f)
		s.q.push(event{at: f.Until.Micros(), kind: evFault, node: e.node, phase: 1})
	case FaultCrash:
		if f.Node >= len(s.nodes) || !s.nodes[f.Node].up {
			return
		}
		permanent := f.Restart == 0
		s.stopNode(f.Node, permanent, f.Disk)
		if !permanent {
			s.q.push(event{at: s.now + f.Restart.Micros(), kind: evFault, node: e.node, phase: 1})
		}
	case FaultLeave:
		if f.Node >= len(s.nodes) || !s.nodes[f.Node].up {
			return
		}
		s.stopNode(f.Node, true, false)
	case FaultSkew:
		if f.Node < len(s.nodes) {
			s.nodes[f.Node].offset = f.Offset.Millis()
		}
	case FaultJump:
		if f.Node < len(s.nodes) {
			s.nodes[f.Node].offset += f.Offset.Millis()
		}
	case FaultJoin:
		for range f.Count {
			i := len(s.nodes)
			if err := s.startNode(i, false); err != nil {
				s.violate("join", err.Error())
				return
			}
			n := s.nodes[i]
			if peers := n.core.Peers(); len(peers) > 0 {
				s.handle(n, n.core.SyncWith(peers[s.rFault.IntN(len(peers))]))
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
