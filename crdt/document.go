package crdt

import (
	"errors"
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// Doc is one replica of a replicated JSON document. It is a pure state
// machine: no goroutines, no wall time (time comes only from the injected
// clock). A Doc is NOT safe for concurrent use; callers (mesh) serialise
// access, State included (it may bring the state up to date and freezes
// it). Values it returns (State, patches, changes) are immutable and may
// be shared freely, between goroutines too: the Doc changes its state in
// place (draft's owned mode) only until it hands it out.
type Doc struct {
	// The fields are in the order of a remote apply's reads: a simulator
	// applies each change to thousands of documents in turn, so each finds
	// its Doc cold in cache, and every 64-byte line of it that the apply
	// reads is a miss. A Doc is allocated in a 1280-byte size class, so
	// its lines start at multiples of 64 bytes. Owner's busy flag sits at
	// the end of owner, in line 5 (bytes 320-383), with clk up to waiting;
	// line 6 holds stats, line 7 the op log's lookup fields (the log is
	// part of the Doc). With SkipPatches a remote apply reads these three
	// lines of the Doc and no other: it read five and the log's own line
	// before (cfg's SkipPatches, pending's count and lag were in lines of
	// their own). TestDocHotLines checks the layout.

	// owner owns state: local updates and lag applies change the nodes it
	// made in place (draft's owned mode). Anything that hands state or a
	// part of it out of the Doc freezes it first (State does).
	owner draft.Owner

	clk     *clock.Clock
	root    *node
	vv      VersionVector
	afterOp func(c *Change, i int) // test hook: called after each remote op
	mark    int                    // where the current call's patches start in lag
	lagCap  int16                  // the lag's capacity growLag aims for
	quiet   bool                   // don't emit visible patches (local updates, large batches)
	dirty   bool                   // large batch: re-render and diff at finish
	stale   bool                   // SkipPatches: state is behind the registers; render on read
	skip    bool                   // cfg.SkipPatches, here in a line Apply reads anyway
	// waiting says that the pending buffer may hold changes (it is set
	// when one is buffered, and cleared by drain once none is): Apply
	// reads it instead of the buffer's count, in a line of its own.
	waiting bool
	stats   Stats
	// listSlots counts list position slots made by ops and snapshot merges
	// (tombstones stay): with the live counts, the cost of a render.
	listSlots int
	// warmth is a sum of what warm read (it means nothing, see warm).
	warmth uint64
	log    memLog // the opLog; concrete, so appends are direct calls
	// lag holds visible patches applied to the registers but not yet to
	// state, oldest first. The patches of its backing array are never
	// rewritten once appended (newLag goes on after them, growLag moves to
	// a new array), so Result.Patches can share it. The current call's
	// patches start at mark.
	lag     []draft.Patch
	pending pendingBuf
	segs    draft.Path // room for visible patch paths (see takeSegs)

	cfg   Config
	strat *Strategies
	// state is the visible state before the patches in lag: State applies
	// them (all at once, so the draft shares the path copies) when it is
	// read, so remote changes that nobody reads in between cost no
	// persistent-tree copies each.
	state      draft.Value
	quarantine []*Change
	cbuf       []cand
	// asserted is localChange.asserted's buffer, reused across updates.
	asserted []*node
	lo       localRoom // room for local changes (local.go)
	// upd is Update's room for a recipe's patches, reused: commitLocal
	// keeps no reference to a patch (only to its path's segments and its
	// values, which draft never rewrites).
	upd []draft.Patch
	// shownIns is the local insert being applied: seq.InsertAt has made
	// its slot visible already, so touchElem need not (see applyOpIn).
	shownIns OpID
	// owed holds, per author, the greatest Until of the gaps applied here
	// that the version has not reached yet: the author's changes up to it
	// remove what the gaps' elided writes did, so they are owed a place
	// (see owes). Entries go when the version reaches them.
	owed map[clock.ReplicaID]uint64
}

// Stats are cumulative counters since New, for operators. A plain value.
type Stats struct {
	// Applied counts changes applied, local ones included.
	Applied uint64
	// Duplicates counts remote changes that were already applied in full.
	Duplicates uint64
	// Buffered counts changes put in the pending buffer.
	Buffered uint64
	// Dropped counts changes not kept because a buffer was full.
	Dropped uint64
	// Quarantined counts changes held for timestamps too far ahead.
	Quarantined uint64
	// Rejected counts malformed changes and snapshots and clock refusals.
	Rejected uint64
}

// Result reports what Apply, MergeSnapshot or RetryQuarantined did. A plain
// value; its patches are shared and immutable.
type Result struct {
	// Applied counts changes applied (wholly or their unseen suffix).
	Applied int
	// Duplicates counts changes that were already applied in full.
	Duplicates int
	// Pending counts changes buffered because a prerequisite is missing.
	Pending int
	// Quarantined counts changes held because their timestamp is too far
	// ahead of physical time.
	Quarantined int
	// Dropped counts changes not kept because a buffer was full.
	Dropped int
	// Rejected counts malformed changes and clock rejections.
	Rejected int
	// Patches are the visible changes to State, in order (RFC 6902 intent
	// patches against the state before the call).
	Patches []draft.Patch
}

// New returns an empty document (the root is an empty map).
func New(cfg Config) (*Doc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	d := &Doc{
		cfg:   cfg,
		clk:   cfg.Clock,
		strat: cfg.Strategies,
		root:  newNode(nil),
		state: draft.EmptyMap(),
		vv:    VersionVector{},
		skip:  cfg.SkipPatches,
	}
	d.root.shown = visMap
	return d, nil
}

// Replica returns the document's replica id.
func (d *Doc) Replica() clock.ReplicaID { return d.cfg.Replica }

// State returns the visible state: an immutable map. O(1) after a local
// update; after remote changes it first brings the state up to date: one
// batched draft.Apply of their visible patches since the last read, or a
// render of the registers when that is cheaper. The state is frozen before
// it is returned (O(1)): later updates copy what they change once more
// instead of changing it in place. Called from inside an Update recipe it
// returns the state before the recipe.
func (d *Doc) State() draft.Value {
	v := d.current()
	d.owner.Freeze()
	return v
}

// maxLag bounds the visible patches State applies lazily: past it finish
// brings the state up to date, so the backlog's memory stays bounded.
const maxLag = 1024

// current brings state up to date and returns it: it applies the lagging
// patches or, when they outnumber what a render visits (the document's live
// entries and list slots, tombstones included), renders the registers
// instead (cheaper then: a small document that many remote writes went
// through).
func (d *Doc) current() draft.Value {
	if d.stale {
		// SkipPatches: remote changes kept no patches (lag is empty).
		d.state = d.renderNode(d.root, visMap, false)
		d.stale = false
		return d.state
	}
	if len(d.lag) == 0 {
		return d.state
	}
	if 2*d.liveUnits() < len(d.lag) {
		d.state = d.renderNode(d.root, visMap, false)
		d.newLag()
		return d.state
	}
	return d.applyLag()
}

// applyLag applies the lagging patches to state (which then is what the
// registers showed before the current call if the call's own patches were
// dropped from lag) and returns it.
func (d *Doc) applyLag() draft.Value {
	if len(d.lag) == 0 {
		return d.state
	}
	if d.owner.Busy() {
		// Only a Doc method called from inside an Update recipe gets here
		// (the entry points that may refuse do: errInRecipe).
		panic("crdt: the Doc was changed from inside an Update recipe")
	}
	next, err := draft.ApplyOwned(d.state, &d.owner, d.lag)
	if err != nil {
		panic("crdt: materialised state out of step with the registers: " + err.Error())
	}
	d.state = next
	d.newLag()
	return next
}

// newLag starts the next lag after the patches just applied (or dropped).
// It goes on in the same backing array when that has room: Result.Patches
// share the patches before the new start, which are never rewritten, and
// nothing was handed out past them. Only when the array is full does the
// next emit allocate (growLag), so a document whose state is read every
// few dozen patches allocates about one patch's room per patch, not a
// fresh buffer per read. lagCap tracks the backlogs seen lately: twice the
// one just applied, or half the previous figure if that is more, so that a
// reader that sometimes reads often does not make the buffer grow from
// nothing each time.
func (d *Doc) newLag() {
	d.lagCap = int16(min(max(2*len(d.lag), int(d.lagCap)/2, 4), maxLag+maxBatchPatches))
	d.lag, d.mark = d.lag[len(d.lag):len(d.lag)], 0
}

// growLag moves the lag to a new backing array with room for at least one
// more patch: the size lagCap asks for, or twice the lag if that is more.
// The old array stays as it is (Result.Patches may share it).
func (d *Doc) growLag() {
	n := max(int(d.lagCap), 2*len(d.lag), 4)
	next := make([]draft.Patch, len(d.lag), n)
	copy(next, d.lag)
	d.lag = next
}

// Version returns a copy of the version vector: what this replica has
// applied.
func (d *Doc) Version() VersionVector { return d.vv.Clone() }

// Stats returns the cumulative counters.
func (d *Doc) Stats() Stats { return d.stats }

// PendingLen returns the number of changes waiting for prerequisites.
func (d *Doc) PendingLen() int { return d.pending.n }

// PendingBytes returns the estimated memory held by the pending buffer.
func (d *Doc) PendingBytes() int { return d.pending.bytes }

// Quarantined returns the changes held because their timestamps were too far
// ahead (oldest first). The slice is a copy; the changes are shared.
func (d *Doc) Quarantined() []*Change { return slices.Clone(d.quarantine) }

// QuarantinedLen returns the number of quarantined changes without copying
// them.
func (d *Doc) QuarantinedLen() int { return len(d.quarantine) }

// VersionOf returns the version vector's entry for r without copying the
// vector: the highest sequence number of r applied contiguously from 1.
func (d *Doc) VersionOf(r clock.ReplicaID) uint64 { return d.vv[r] }

// Apply applies remote changes in any order, with duplicates; changes whose
// prerequisites are missing wait in the pending buffer and are applied when
// those arrive. A malformed change is rejected (counted, and the first such
// error is returned) without affecting the others.
func (d *Doc) Apply(changes ...*Change) (Result, error) {
	if d.owner.Busy() {
		return Result{}, errInRecipe("Apply")
	}
	var res Result
	var first error
	d.begin()
	for _, c := range changes {
		if err := d.receive(c, &res); err != nil && first == nil {
			first = err
		}
	}
	d.drain(&res)
	d.finish(&res)
	return res, first
}

// begin starts a remote entry point's patches at the end of lag; with
// SkipPatches it keeps them from being made at all (quiet until finish).
func (d *Doc) begin() {
	if d.skip {
		// No patches are made, and the lag stays empty: it is not read
		// (a line of the Doc that a cold apply then leaves alone).
		d.quiet = true
		return
	}
	d.mark = len(d.lag)
}

// finish hands the call's visible patches out in res and leaves them in lag
// for State to apply. With SkipPatches there are none: the state is marked
// for a render on its next read if anything was applied.
func (d *Doc) finish(res *Result) {
	if d.skip {
		d.quiet, d.dirty = false, false
		if res.Applied > 0 {
			d.stale = true
		}
		return
	}
	if d.dirty {
		// A large batch: rendering the registers once and diffing is
		// cheaper than replaying thousands of patches.
		d.lag = d.lag[:d.mark]
		old := d.applyLag()
		next := d.renderNode(d.root, visMap, false)
		res.Patches = appendDiff(res.Patches, nil, old, next)
		d.state = next
		d.dirty, d.quiet = false, false
		return
	}
	if len(d.lag) == d.mark {
		return
	}
	mine := d.lag[d.mark:len(d.lag):len(d.lag)]
	if res.Patches == nil {
		res.Patches = mine
	} else {
		res.Patches = append(res.Patches, mine...)
	}
	d.mark = len(d.lag)
	if len(d.lag) > maxLag {
		d.current()
	}
}

// receive handles one incoming change.
func (d *Doc) receive(c *Change, res *Result) error {
	have, fresh, err := d.admit(c, res)
	if !fresh {
		return err
	}
	if d.readyAt(c, have) {
		// applyRemoteAt's clock Update refuses exactly what Check would
		// (and changes nothing then), so a ready change skips Check.
		return d.applyRemoteAt(c, have, res)
	}
	return d.receiveUnready(c, res)
}

// admit counts c as rejected (invalid) or a duplicate and reports false,
// or returns d.vv[c.Replica] and true. The version vector is read once
// here and handed on: on a document cold in cache each lookup in it is a
// few cache misses.
func (d *Doc) admit(c *Change, res *Result) (have uint64, fresh bool, err error) {
	if err := validateChange(c); err != nil {
		res.Rejected++
		d.stats.Rejected++
		return 0, false, err
	}
	// Warm before the version vector's lookup: see warm.
	d.warm(c)
	have = d.vv[c.Replica]
	if have >= c.EndSeq() {
		res.Duplicates++
		d.stats.Duplicates++
		return have, false, nil
	}
	return have, true, nil
}

// warm reads, on a Doc cold in cache, what applying c will read first:
// its author's log entry and the places the log append will write (memLog
// warm), and the register of its first op when that is a key of the root
// or of a map just below it reached through the root's step cache (most
// ops of a small document), with the lines of the register its apply
// reads, or for an insert into a list there the list's lookups. None of these lookups depends on another or on the version
// vector's, which admit does next, so the CPU has all their misses in
// flight at once; the apply then finds the lines cached. (Each followed
// the one before: on the 3k copy of scale-10k, the author and root
// register alone took Apply from 11.4 to 8.3 s.) The values read are
// summed into warmth, which means nothing: it keeps the reads from being
// optimised away.
func (d *Doc) warm(c *Change) {
	w := d.log.warm(c)
	if len(c.Ops) > 0 {
		w += d.warmRegister(&c.Ops[0], c.ID(0))
	}
	d.warmth = w
}

// warmRegister reads op's register as warm describes (in the node's
// register cache, or its map); for an insert (id) into a list, the list's
// entries for id and for its origin (Integrate's lookups).
func (d *Doc) warmRegister(op *Op, id OpID) uint64 {
	if op.Key.IsElem() || op.Kind == OpMove {
		return 0
	}
	n := d.root
	switch {
	case len(op.Path) == 0:
	case len(op.Path) == 1 && !op.Path[0].IsElem():
		st := n.step
		if st == nil || st.key != op.Path[0].Key || st.child == nil {
			return 0
		}
		n = st.child
	default:
		return 0
	}
	if op.Kind == OpInsert {
		if n.lst == nil {
			return 0
		}
		l := n.lst.seq
		w := uint64(l.Handle(id))
		for _, o := range [2]OpID{op.Origins.Left, op.Origins.Right} {
			if !o.IsZero() {
				w += uint64(l.Handle(o))
			}
		}
		return w
	}
	s := n.hot.find(keyHash(op.Key.Key), op.Key.Key)
	if s == nil {
		// Not cached (a new key, or a small node): the node's Go map,
		// which remoteSlot reads next.
		if s = n.keys[op.Key.Key]; s == nil {
			return 1
		}
	}
	// The register's three lines: the key (find), its first entry, and
	// what it shows; a counter's contributions.
	w := s.first[0].id.Seq + uint64(s.vis)
	if s.ctr != nil && len(s.ctr.contribs) > 0 {
		w += s.ctr.contribs[0].seq
	}
	return w
}

// owe records that a gap applied here relies on its author's changes up
// to until.
func (d *Doc) owe(r clock.ReplicaID, until uint64) {
	if d.owed == nil {
		d.owed = make(map[clock.ReplicaID]uint64)
	}
	if until > d.owed[r] {
		d.owed[r] = until
	}
}

// owes reports whether c holds ops that a gap applied here relies on (its
// author's changes up to the gap's Until remove what the gap's elided
// writes did). Such a change is not dropped when the pending buffer or the
// quarantine is full, within a second allowance (owedBound): dropping it
// would leave the gap without the writes that make it exact, and if no
// other replica kept them (their author gone), this replica would
// disagree for good with one that got the elided writes' originals.
func (d *Doc) owes(c *Change) bool {
	u, ok := d.owed[c.Replica]
	if !ok {
		return false
	}
	if d.vv[c.Replica] >= u {
		delete(d.owed, c.Replica)
		return false
	}
	return c.StartSeq <= u
}

// owedBound is the bound that changes a gap relies on may fill the
// pending buffer or the quarantine to: twice the configured bound, and at
// least the default. Only changes of authors with gaps applied and not yet
// covered use it, and an honest reply holds them next to their gaps.
func owedBound(configured, def int) int {
	return max(2*configured, def)
}

// receiveUnready is receive for a valid change that is neither a
// duplicate nor ready: it waits in the pending buffer, or is quarantined
// or refused by the clock, or dropped when the buffer is full.
func (d *Doc) receiveUnready(c *Change, res *Result) error {
	if err := d.clk.Check(c.Timestamp); err != nil {
		return d.clockRefused(c, err, res)
	}
	if !d.pending.add(c, d.cfg.MaxPending, d.cfg.MaxPendingBytes) &&
		!(d.owes(c) && d.pending.add(c, owedBound(d.cfg.MaxPending, DefaultMaxPending), owedBound(d.cfg.MaxPendingBytes, DefaultMaxPendingBytes))) {
		res.Dropped++
		d.stats.Dropped++
		return fmt.Errorf("%w: change %s/%d dropped", ErrPendingFull, c.Replica, c.StartSeq)
	}
	d.waiting = true
	res.Pending++
	d.stats.Buffered++
	return nil
}

func (d *Doc) hold(c *Change, res *Result) {
	for _, q := range d.quarantine {
		if q.Replica == c.Replica && q.StartSeq == c.StartSeq {
			return
		}
	}
	if len(d.quarantine) >= d.cfg.MaxQuarantine &&
		!(d.owes(c) && len(d.quarantine) < owedBound(d.cfg.MaxQuarantine, DefaultMaxQuarantine)) {
		res.Dropped++
		d.stats.Dropped++
		return
	}
	d.quarantine = append(d.quarantine, c)
	res.Quarantined++
	d.stats.Quarantined++
}

// clockRefused quarantines a change whose timestamp is too far ahead and
// rejects one the clock refuses for another reason.
func (d *Doc) clockRefused(c *Change, err error, res *Result) error {
	if errors.Is(err, clock.ErrDrift) {
		d.hold(c, res)
		return nil
	}
	res.Rejected++
	d.stats.Rejected++
	return fmt.Errorf("%w: change %s/%d: %v", ErrReplica, c.Replica, c.StartSeq, err)
}

// applyRemote applies the unseen suffix of a ready change.
func (d *Doc) applyRemote(c *Change, res *Result) error {
	return d.applyRemoteAt(c, d.vv[c.Replica], res)
}

// applyRemoteAt is applyRemote with have = d.vv[c.Replica].
func (d *Doc) applyRemoteAt(c *Change, have uint64, res *Result) error {
	if err := d.clk.Update(c.Timestamp); err != nil {
		return d.clockRefused(c, err, res)
	}
	from := 0
	if have >= c.StartSeq {
		from = int(have - c.StartSeq + 1)
	}
	for i := from; i < len(c.Ops); i++ {
		d.applyOp(&c.Ops[i], c.ID(i), c.Timestamp, false)
		if d.afterOp != nil {
			d.vv[c.Replica] = c.StartSeq + uint64(i)
			d.afterOp(c, i)
		}
	}
	// Applying an op never reads the version vector, so it moves once.
	d.vv[c.Replica] = c.EndSeq()
	if c.Until > c.EndSeq() {
		d.owe(c.Replica, c.Until)
	}
	if c.Elided > 0 && have >= c.StartSeq {
		// A gap reaching below what is applied: the log keeps its rest.
		c = trimGap(c, have)
	}
	d.log.append(c)
	res.Applied++
	d.stats.Applied++
	if d.skip {
		// (No patches: the lag is not read, see begin.)
	} else if n := len(d.lag) - d.mark; n > maxBatchPatches && n > d.liveUnits() {
		d.quiet, d.dirty = true, true
	}
	return nil
}

// maxBatchPatches is the number of visible patches one Apply collects before
// it may switch to re-rendering the state once at the end. It switches only
// when the patches also outnumber the document's live entries
// (liveUnits): rendering and diffing cost in proportion to the whole state,
// patches in proportion to the batch, so a batch of thousands of changes
// into a document of tens of thousands of keys keeps its patches.
const maxBatchPatches = 512

// liveUnits is the number of live map entries, list elements and list
// slots: what a full render of the state walks.
func (d *Doc) liveUnits() int { return d.root.liveMap + d.root.liveList + d.listSlots }

// drain applies pending changes that have become ready, until none is.
func (d *Doc) drain(res *Result) {
	if !d.waiting {
		return
	}
	for progress := d.pending.n > 0; progress; {
		progress = false
		for _, r := range d.pending.replicas() {
			for {
				c := d.pending.head(r)
				if c == nil {
					break
				}
				if d.vv[c.Replica] >= c.EndSeq() {
					d.pending.pop(r)
					continue
				}
				if !d.ready(c) {
					break
				}
				d.pending.pop(r)
				_ = d.applyRemote(c, res)
				progress = true
			}
		}
	}
	d.waiting = d.pending.n > 0
}

// RetryQuarantined re-offers quarantined changes whose timestamps are now
// acceptable (mesh calls it on a tick).
func (d *Doc) RetryQuarantined() (Result, error) {
	if len(d.quarantine) == 0 {
		return Result{}, nil
	}
	q := d.quarantine
	d.quarantine = nil
	var keep []*Change
	var ready []*Change
	for _, c := range q {
		if err := d.clk.Check(c.Timestamp); errors.Is(err, clock.ErrDrift) {
			keep = append(keep, c)
		} else {
			ready = append(ready, c)
		}
	}
	d.quarantine = keep
	return d.Apply(ready...)
}

// ready reports whether every prerequisite of c's unseen ops is applied:
// the replica's earlier ops (FIFO) and every id an op references.
func (d *Doc) ready(c *Change) bool { return d.readyAt(c, d.vv[c.Replica]) }

// readyAt is ready with have = d.vv[c.Replica]. An id of c's own replica is
// applied or earlier in c exactly when it is below the op's own seq (have
// is below it too), so only other replicas' ids need the version vector.
func (d *Doc) readyAt(c *Change, have uint64) bool {
	if have+1 < c.StartSeq {
		return false
	}
	from := uint64(0)
	if have >= c.StartSeq {
		from = have - c.StartSeq + 1
	}
	for i := from; i < uint64(len(c.Ops)); i++ {
		self := c.StartSeq + i
		dep := func(id OpID) bool {
			if id.Replica == c.Replica {
				return id.Seq < self
			}
			return d.vv.Covers(id)
		}
		op := &c.Ops[i]
		for _, sg := range op.Path {
			if sg.IsElem() && !dep(sg.Elem) {
				return false
			}
		}
		if op.Key.IsElem() && !dep(op.Key.Elem) {
			return false
		}
		for _, p := range op.Pred {
			if !dep(p) {
				return false
			}
		}
		for r, s := range op.Ctx {
			if !dep(OpID{Replica: r, Seq: s}) {
				return false
			}
		}
		for k := range op.Marks {
			m := &op.Marks[k]
			if !dep(OpID{Replica: m.Replica, Seq: m.Seq}) {
				return false
			}
			for _, sg := range m.Rel {
				if sg.IsElem() && !dep(sg.Elem) {
					return false
				}
			}
		}
		for _, o := range originIDs(op.Origins) {
			if !dep(o) {
				return false
			}
		}
	}
	return true
}

// validateChange checks structural rules that do not depend on state.
func validateChange(c *Change) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w: nil change", ErrMalformed)
	case c.Replica == 0:
		return fmt.Errorf("%w: zero replica", ErrMalformed)
	case c.StartSeq == 0:
		return fmt.Errorf("%w: zero start sequence", ErrMalformed)
	case len(c.Ops) == 0 && c.Elided == 0:
		return fmt.Errorf("%w: empty change", ErrMalformed)
	case c.Timestamp.Replica != c.Replica:
		return fmt.Errorf("%w: timestamp replica %s differs from change replica %s", ErrMalformed, c.Timestamp.Replica, c.Replica)
	case c.StartSeq+uint64(len(c.Ops)) < c.StartSeq:
		return fmt.Errorf("%w: sequence overflow", ErrMalformed)
	case c.Elided == 0 && c.Until != 0:
		return fmt.Errorf("%w: Until without a gap", ErrMalformed)
	case c.Elided > 0:
		return validGap(c.StartSeq, c.Elided, c.Until, len(c.Ops))
	}
	for i := range c.Ops {
		if err := validateOp(&c.Ops[i], c.ID(i)); err != nil {
			return err
		}
	}
	return nil
}

func validateOp(op *Op, id OpID) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: op %s/%d (%s): %s", ErrMalformed, id.Replica, id.Seq, op.Kind, why)
	}
	switch op.Kind {
	case OpSet, OpInsert:
		k := op.Value.Kind()
		if k == draft.Invalid {
			return bad("no value")
		}
		if (k == draft.MapKind || k == draft.ListKind) && op.Value.Len() != 0 {
			return bad("container value must be an empty marker")
		}
	case OpInc:
		if k := op.Value.Kind(); k != draft.IntKind && k != draft.FloatKind {
			return bad("delta must be a number")
		}
	case OpDelete:
	case OpMove:
		if !op.Key.IsElem() {
			return bad("move needs an element")
		}
	default:
		return bad("unknown kind")
	}
	for _, p := range op.Pred {
		if p.Seq == 0 || p.Replica == 0 || !idBefore(p, id) {
			return bad("bad predecessor")
		}
	}
	if op.Kind == OpInsert && op.Key != (Segment{}) {
		return bad("insert takes no key")
	}
	for _, o := range originIDs(op.Origins) {
		if o == id {
			return bad("op is its own origin")
		}
	}
	return nil
}

// idBefore: a referenced op of the same replica must be earlier.
func idBefore(ref, self OpID) bool { return ref.Replica != self.Replica || ref.Seq < self.Seq }

// ChangesSince returns the applied changes holding operations that vv does
// not include, replica by replica in sequence order, stopping once about
// maxBytes (estimated) are collected (maxBytes <= 0: no limit). At least one
// change is returned when any is missing (over maxBytes, if the first is a
// gap that must go with the writes that overwrote it). Runs of writes that
// later writes of their own author overwrote come as gaps (Change.Elided),
// each only with the writes that overwrote it (docs/crdt.md, "Superseded
// writes"); an author's part may end early at a gap received whose
// overwriting writes are not applied here yet.
func (d *Doc) ChangesSince(vv VersionVector, maxBytes int) []*Change {
	return d.log.since(vv, maxBytes)
}

// LoggedSince returns the op log's changes holding operations that vv does
// not include, as the log keeps them: nothing is elided here, and gaps
// that were received are returned as they came. It is for a store that
// must keep what this replica applied (a durable log written after each
// Apply), not for peers: a reply to a peer should be ChangesSince's.
func (d *Doc) LoggedSince(vv VersionVector) []*Change {
	return d.log.asLogged(vv, 0)
}
