package memnet

import "sync/atomic"

// dropReason indexes Drops; the order is internal.
type dropReason int

const (
	dropLoss dropReason = iota
	dropPartition
	dropQueueFull
	dropOversize
	dropClosed
	dropNoRoute
	numDropReasons
)

func (r dropReason) String() string {
	return [...]string{"loss", "partition", "queue full", "oversize", "closed", "no route"}[r]
}

// Drops counts dropped packet copies by reason. Like every Stats type it is
// a plain snapshot value, safe to copy and share.
type Drops struct {
	// Loss: dropped by uniform or bursty loss.
	Loss uint64
	// Partition: the link was cut when the packet was sent or when its
	// delay ran out.
	Partition uint64
	// QueueFull: the receiver's PacketCh was full.
	QueueFull uint64
	// Oversize: longer than Config.MaxPacketSize.
	Oversize uint64
	// Closed: the sender, the receiver or the Network was shut down.
	Closed uint64
	// NoRoute: no node ever had the destination address.
	NoRoute uint64
}

// Total is the sum of all reasons.
func (d Drops) Total() uint64 {
	return d.Loss + d.Partition + d.QueueFull + d.Oversize + d.Closed + d.NoRoute
}

// NodeStats are the counters of one node name (they carry over when a name
// is reused after Shutdown). Sender-side counters describe the packets and
// dials the node originated; Received* describe what reached its PacketCh.
//
// Once nothing is in flight, for every node:
//
//	PacketsSent + Duplicated == PacketsDelivered + Dropped.Total()
type NodeStats struct {
	// PacketsSent counts WriteTo/WriteToAddress calls, whatever their fate.
	PacketsSent uint64
	// BytesSent is the payload bytes of PacketsSent.
	BytesSent uint64
	// Duplicated counts extra copies created by LinkFaults.Duplicate.
	Duplicated uint64
	// PacketsDelivered counts copies sent by this node that reached a
	// receiver's PacketCh.
	PacketsDelivered uint64
	// BytesDelivered is the payload bytes of PacketsDelivered.
	BytesDelivered uint64
	// Dropped counts copies sent by this node that were dropped.
	Dropped Drops
	// PacketsReceived counts copies placed in this node's PacketCh.
	PacketsReceived uint64
	// BytesReceived is the payload bytes of PacketsReceived.
	BytesReceived uint64
	// StreamsOpened counts successful dials by this node.
	StreamsOpened uint64
	// StreamsRefused counts failed dials by this node.
	StreamsRefused uint64
	// StreamsAccepted counts connections placed in this node's StreamCh.
	StreamsAccepted uint64
	// StreamsCut counts streams dialled by this node that memnet closed
	// because of a partition or a shutdown.
	StreamsCut uint64
}

func (s *NodeStats) add(o NodeStats) {
	s.PacketsSent += o.PacketsSent
	s.BytesSent += o.BytesSent
	s.Duplicated += o.Duplicated
	s.PacketsDelivered += o.PacketsDelivered
	s.BytesDelivered += o.BytesDelivered
	s.Dropped.Loss += o.Dropped.Loss
	s.Dropped.Partition += o.Dropped.Partition
	s.Dropped.QueueFull += o.Dropped.QueueFull
	s.Dropped.Oversize += o.Dropped.Oversize
	s.Dropped.Closed += o.Dropped.Closed
	s.Dropped.NoRoute += o.Dropped.NoRoute
	s.PacketsReceived += o.PacketsReceived
	s.BytesReceived += o.BytesReceived
	s.StreamsOpened += o.StreamsOpened
	s.StreamsRefused += o.StreamsRefused
	s.StreamsAccepted += o.StreamsAccepted
	s.StreamsCut += o.StreamsCut
}

// Stats is a snapshot of a Network's counters.
type Stats struct {
	// Total sums Nodes.
	Total NodeStats
	// Nodes maps node name to its counters.
	Nodes map[string]NodeStats
	// InFlight is the number of delayed packet copies not yet delivered or
	// dropped.
	InFlight int
}

// counters are the live, atomically updated form of NodeStats.
type counters struct {
	sent, bytesSent, duplicated   atomic.Uint64
	delivered, bytesDelivered     atomic.Uint64
	received, bytesReceived       atomic.Uint64
	dropped                       [numDropReasons]atomic.Uint64
	streamsOpened, streamsRefused atomic.Uint64
	streamsAccepted, streamsCut   atomic.Uint64
}

func (c *counters) snapshot() NodeStats {
	return NodeStats{
		PacketsSent:      c.sent.Load(),
		BytesSent:        c.bytesSent.Load(),
		Duplicated:       c.duplicated.Load(),
		PacketsDelivered: c.delivered.Load(),
		BytesDelivered:   c.bytesDelivered.Load(),
		Dropped: Drops{
			Loss:      c.dropped[dropLoss].Load(),
			Partition: c.dropped[dropPartition].Load(),
			QueueFull: c.dropped[dropQueueFull].Load(),
			Oversize:  c.dropped[dropOversize].Load(),
			Closed:    c.dropped[dropClosed].Load(),
			NoRoute:   c.dropped[dropNoRoute].Load(),
		},
		PacketsReceived: c.received.Load(),
		BytesReceived:   c.bytesReceived.Load(),
		StreamsOpened:   c.streamsOpened.Load(),
		StreamsRefused:  c.streamsRefused.Load(),
		StreamsAccepted: c.streamsAccepted.Load(),
		StreamsCut:      c.streamsCut.Load(),
	}
}

// Stats returns a snapshot of every node's counters. Counters are read one
// by one while traffic may flow, so the snapshot is only exactly consistent
// when the network is quiet.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	names := make(map[string]*counters, len(n.counters))
	for name, c := range n.counters {
		names[name] = c
	}
	n.mu.Unlock()
	st := Stats{Nodes: make(map[string]NodeStats, len(names)), InFlight: n.sched.inFlight()}
	for name, c := range names {
		ns := c.snapshot()
		st.Nodes[name] = ns
		st.Total.add(ns)
	}
	return st
}
