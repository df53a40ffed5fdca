package mesh

import (
	"sync"
	"sync/atomic"

	"github.com/syncmesh/syncmesh/mesh/store"
)

// Status is a snapshot of a Node's state for operators. Counters are
// totals since New; gauges are current values. Node.Status returns a copy
// the caller owns (maps included).
type Status struct {
	// Name is the node's name.
	Name string
	// Version is the document's version vector.
	Version VersionVector
	// Members is the number of live members, this node included (gauge).
	Members int
	// Pending is the number of changes waiting for causal dependencies and
	// Quarantined the number waiting for physical time (gauges).
	Pending, Quarantined int
	// InboxDepth, OutboxDepth and BroadcastQueueDepth are the current
	// lengths of the received-message, direct-send and gossip queues.
	InboxDepth, OutboxDepth, BroadcastQueueDepth int
	// SentMessages and SentBytes count messages this node sent (gossip and
	// direct), by type.
	SentMessages, SentBytes map[MsgType]uint64
	// ReceivedMessages and ReceivedBytes count accepted messages, by type.
	ReceivedMessages, ReceivedBytes map[MsgType]uint64
	// Rejected counts rejected messages by reason.
	Rejected map[RejectReason]uint64
	// InboxDrops counts received messages dropped because the inbox was
	// full; SendDrops direct sends dropped (outbox full, unknown peer,
	// oversize); SendErrors sends that failed; BroadcastPruned gossip
	// messages pruned from a full queue; WatchDrops events not delivered
	// to a slow watcher; EventDrops membership events not delivered.
	InboxDrops, SendDrops, SendErrors, BroadcastPruned, WatchDrops, EventDrops uint64
	// RefusedPeers counts alive/merge notices refused for an incompatible
	// peer (protocol version or fingerprint).
	RefusedPeers uint64
	// Duplicates, Regossiped, AppliedChanges, Fetches, AntiEntropyRounds,
	// SnapshotsSent and SnapshotsMerged are the protocol core's counters.
	Duplicates, Regossiped, AppliedChanges, Fetches, AntiEntropyRounds uint64
	SnapshotsSent, SnapshotsMerged                                     uint64
	// LastLagMillis is the time from the newest remote change's clock to
	// its apply here, at the last remote apply (gauge).
	LastLagMillis int64

	// Durable reports a Node with a data directory (Config.DataDir); the
	// fields below stay zero without one.
	Durable bool
	// Failure says why the store failed and the Node stopped acknowledging
	// updates (fail closed; restart it), or "" while healthy.
	Failure string
	// UndurableOps is the number of this node's own operations applied in
	// memory whose writes are not yet durable (gauge): they are neither
	// acknowledged nor served to peers yet.
	UndurableOps uint64
	// StoreCommits counts the store's transactions (one fsync each, with
	// durability on) and StoreWrites the writes they carried: their ratio
	// is the group commit's batching. StoreWriteErrors counts failed
	// writes.
	StoreCommits, StoreWrites, StoreWriteErrors uint64
}

// nodeStats are the driver's own counters, updated without the node lock.
type nodeStats struct {
	inboxDrops, sendDrops, sendErrors, broadcastPruned atomic.Uint64
	watchDrops, eventDrops, refusedPeers               atomic.Uint64
	rejectedTooLarge                                   atomic.Uint64

	mu        sync.Mutex
	sentMsgs  map[MsgType]uint64
	sentBytes map[MsgType]uint64
}

func (s *nodeStats) init() {
	s.sentMsgs = map[MsgType]uint64{}
	s.sentBytes = map[MsgType]uint64{}
}

func (s *nodeStats) sent(t MsgType, n int) {
	s.mu.Lock()
	s.sentMsgs[t]++
	s.sentBytes[t] += uint64(n)
	s.mu.Unlock()
}

// Status returns the node's current status. It is cheap enough to call
// every few seconds (it copies the version vector and counters).
func (n *Node) Status() Status {
	n.mu.Lock()
	cs := n.core.Stats()
	v := n.doc.Version()
	var undurable, writeErrors uint64
	if n.durable != nil {
		undurable, writeErrors = n.durable.undurable(), n.durable.writeErrors
	}
	n.mu.Unlock()
	st := Status{
		Name:                n.cfg.Name,
		Version:             v,
		Pending:             cs.Pending,
		Quarantined:         cs.Quarantined,
		InboxDepth:          len(n.inbox) + len(n.control),
		OutboxDepth:         len(n.outbox),
		BroadcastQueueDepth: n.queue.NumQueued(),
		ReceivedMessages:    cs.Received,
		ReceivedBytes:       cs.ReceivedBytes,
		Rejected:            cs.Rejected,
		InboxDrops:          n.stats.inboxDrops.Load(),
		SendDrops:           n.stats.sendDrops.Load(),
		SendErrors:          n.stats.sendErrors.Load(),
		BroadcastPruned:     n.stats.broadcastPruned.Load(),
		WatchDrops:          n.stats.watchDrops.Load(),
		EventDrops:          n.stats.eventDrops.Load(),
		RefusedPeers:        n.stats.refusedPeers.Load(),
		Duplicates:          cs.Duplicates,
		Regossiped:          cs.Regossiped,
		AppliedChanges:      cs.AppliedChanges,
		Fetches:             cs.Fetches,
		AntiEntropyRounds:   cs.AntiEntropyRounds,
		SnapshotsSent:       cs.SnapshotsSent,
		SnapshotsMerged:     cs.SnapshotsMerged,
		LastLagMillis:       cs.LastLagMillis,
	}
	if tl := n.stats.rejectedTooLarge.Load(); tl > 0 {
		st.Rejected[RejectTooLarge] += tl
	}
	n.stats.mu.Lock()
	st.SentMessages = cloneMap(n.stats.sentMsgs)
	st.SentBytes = cloneMap(n.stats.sentBytes)
	n.stats.mu.Unlock()
	st.Members = n.numNodes()
	if n.durable != nil {
		st.Durable, st.UndurableOps, st.StoreWriteErrors = true, undurable, writeErrors
		if d, ok := n.store.(interface{ Stats() store.DiskStats }); ok {
			ds := d.Stats()
			st.StoreCommits, st.StoreWrites = ds.Commits, ds.Writes
		}
		if err := n.failed(); err != nil {
			st.Failure = err.Error()
		}
	}
	return st
}
