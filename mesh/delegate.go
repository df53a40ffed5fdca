package mesh

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// metaMagic starts every node's memberlist metadata, so a syncmesh node can
// tell a foreign memberlist node from an incompatible syncmesh node.
var metaMagic = []byte("sm")

// metaBytes is the metadata length: magic, protocol version, sha256 of the
// document fingerprint.
const metaBytes = 2 + 1 + sha256.Size

// nodeMeta returns the metadata a node advertises to memberlist.
func nodeMeta(fingerprint []byte) []byte {
	sum := sha256.Sum256(fingerprint)
	b := make([]byte, 0, metaBytes)
	b = append(b, metaMagic...)
	b = append(b, ProtocolVersion)
	return append(b, sum[:]...)
}

// checkMeta reports why a peer advertising meta may not join a node that
// advertises mine, or nil.
func checkMeta(mine, meta []byte) error {
	switch {
	case len(meta) != metaBytes || !bytes.HasPrefix(meta, metaMagic):
		return fmt.Errorf("%w: not a syncmesh node (metadata %d bytes)", ErrIncompatible, len(meta))
	case meta[2] != ProtocolVersion:
		return fmt.Errorf("%w: protocol version %d, ours is %d", ErrIncompatible, meta[2], ProtocolVersion)
	case !bytes.Equal(meta[3:], mine[3:]):
		return fmt.Errorf("%w: strategy table fingerprint %x differs from ours %x", ErrIncompatible, meta[3:11], mine[3:11])
	}
	return nil
}

// delegate connects memberlist to a Node. memberlist calls its methods
// from its own goroutines, concurrently; none of them blocks: messages and
// events are copied and handed to bounded channels (dropped and counted
// when full), and gossip comes from a TransmitLimitedQueue, which has its
// own lock.
type delegate struct{ n *Node }

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
	_ memberlist.AliveDelegate = delegate{}
	_ memberlist.MergeDelegate = delegate{}
)

// NodeMeta implements memberlist.Delegate.
func (d delegate) NodeMeta(limit int) []byte {
	if len(d.n.meta) > limit {
		return nil
	}
	return d.n.meta
}

// NotifyMsg implements memberlist.Delegate: it copies msg into an inbox, or
// drops it when that inbox is full. Gossip (Change, Announce) and everything
// else (repair, fetch and snapshot traffic) have separate inboxes, so a
// flood of gossip cannot crowd out the repair that recovers what the flood
// lost.
func (d delegate) NotifyMsg(msg []byte) {
	n := d.n
	if len(msg) > n.cfg.MaxMessageBytes {
		n.stats.rejectedTooLarge.Add(1)
		return
	}
	b := make([]byte, len(msg))
	copy(b, msg)
	inbox := n.control
	if t := peekType(b); t == TypeChange || t == TypeAnnounce {
		inbox = n.inbox
	}
	select {
	case inbox <- b:
	default:
		n.stats.inboxDrops.Add(1)
	}
}

// GetBroadcasts implements memberlist.Delegate.
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	msgs := d.n.queue.GetBroadcasts(overhead, limit)
	for _, m := range msgs {
		d.n.stats.sent(peekType(m), len(m))
	}
	return msgs
}

// LocalState implements memberlist.Delegate. Document state is not sent on
// memberlist's push/pull: anti-entropy does that, bounded and incremental.
func (d delegate) LocalState(bool) []byte { return nil }

// MergeRemoteState implements memberlist.Delegate (nothing to merge).
func (d delegate) MergeRemoteState([]byte, bool) {}

// NotifyAlive implements memberlist.AliveDelegate: it refuses peers that
// are not compatible syncmesh nodes.
func (d delegate) NotifyAlive(peer *memberlist.Node) error {
	return d.n.admit(peer)
}

// NotifyMerge implements memberlist.MergeDelegate: a join or push/pull that
// would merge in an incompatible node is cancelled as a whole.
func (d delegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if err := d.n.admit(p); err != nil {
			return err
		}
	}
	return nil
}

// NotifyJoin implements memberlist.EventDelegate. A member that joins is
// no longer a reconnection target.
func (d delegate) NotifyJoin(node *memberlist.Node) {
	d.n.reconnect.forget(node.Name)
	d.n.memberEvent(MemberJoin, node)
}

// NotifyLeave implements memberlist.EventDelegate. A member declared dead
// (not one that left) becomes a reconnection target.
func (d delegate) NotifyLeave(node *memberlist.Node) {
	d.n.memberGone(node)
	d.n.memberEvent(MemberLeave, node)
}

// NotifyUpdate implements memberlist.EventDelegate.
func (d delegate) NotifyUpdate(node *memberlist.Node) { d.n.memberEvent(MemberUpdate, node) }

// broadcast is one gossip message in memberlist's queue. Broadcasts are
// named, so queueing a message with the same key replaces the old one.
type broadcast struct {
	key string
	msg []byte
}

var _ memberlist.NamedBroadcast = (*broadcast)(nil)

func (b *broadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*broadcast)
	return ok && ob.key == b.key
}
func (b *broadcast) Name() string    { return b.key }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       {}
