package mesh

// OutputPool keeps the slices of Outputs a driver has finished with, so
// that the cores sharing it fill them again instead of allocating new
// ones on every call. A simulation driving thousands of cores in one loop
// makes millions of calls, most returning a broadcast or a send or two:
// their slices were a tenth of its allocation. A driver that gives every
// Output back when it has carried it out (Put) shares one pool among all
// its cores (CoreConfig.Outputs); a driver that keeps Outputs, or hands
// them to other goroutines, uses none.
//
// An OutputPool is not safe for concurrent use: the cores sharing it and
// the driver's Put calls must be serialized (one event loop).
type OutputPool struct {
	// SizesOnly leaves Send.Msg nil in the Outputs of the cores sharing
	// the pool and gives only its length (Send.Size): for a driver that
	// delivers Send.Message to another core in the same process and
	// only counts bytes (a simulation), so that no call encodes a
	// message into bytes nobody reads (an allocation per stream
	// message). It also leaves an announcement's Broadcast.Msg nil (a
	// new message per node and advance; a change's bytes are kept, as
	// they are shared). Default false: every Send and Broadcast carries
	// its bytes.
	SizesOnly bool
	free      []Output
	// changes are arrays for the changes a core hands the document in
	// one call (receiveBatch's gossiped changes, the new changes of a
	// Changes message it handles meanwhile): a few arrays for every
	// core, not one per call.
	changes [][]Change
}

// batch returns an empty slice for changes to hand the document, an
// array of the pool's when it has one free.
func (p *OutputPool) batch() []Change {
	if p == nil || len(p.changes) == 0 {
		return nil
	}
	b := p.changes[len(p.changes)-1]
	p.changes = p.changes[:len(p.changes)-1]
	return b // in use until putBatch
}

// putBatch gives back a slice batch returned, grown or not, cleared.
func (p *OutputPool) putBatch(b []Change) {
	if p == nil || cap(b) == 0 {
		return
	}
	clear(b)
	p.changes = append(p.changes, b[:0])
}

// Put gives back out, whose broadcasts, sends and applied effects the
// driver has carried out and will not read again. Their elements are
// cleared (the pool keeps no message alive); the slices' arrays are
// reused by the next Output a core returns.
func (p *OutputPool) Put(out Output) {
	if p == nil || (cap(out.Broadcasts) == 0 && cap(out.Sends) == 0 && cap(out.Applied) == 0) {
		return
	}
	clear(out.Broadcasts)
	clear(out.Sends)
	clear(out.Applied)
	p.free = append(p.free, Output{Broadcasts: out.Broadcasts[:0], Sends: out.Sends[:0], Applied: out.Applied[:0]})
}

// get returns an empty Output, with arrays from the pool when it has any.
func (p *OutputPool) get() Output {
	if p == nil || len(p.free) == 0 {
		return Output{}
	}
	out := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return out
}
