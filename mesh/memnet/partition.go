package memnet

import (
	"fmt"
	"slices"
)

// partitions is the set of cut links. The zero value cuts nothing.
type partitions struct {
	group    map[string]int // node → 1-based group; nil when no Partition is active
	blocked  map[link]bool
	isolated map[string]bool
}

func (p *partitions) reset() {
	p.group = nil
	p.blocked = make(map[link]bool)
	p.isolated = make(map[string]bool)
}

// cut reports whether packets from→to are cut. A node never cuts itself off.
func (p *partitions) cut(from, to string) bool {
	switch {
	case from == to:
		return false
	case p.isolated[from] || p.isolated[to]:
		return true
	case p.blocked[link{from, to}]:
		return true
	case p.group != nil:
		return p.group[from] != p.group[to] // unlisted nodes share group 0
	}
	return false
}

// cutEither reports whether either direction between a and b is cut; a
// stream needs both.
func (p *partitions) cutEither(a, b string) bool { return p.cut(a, b) || p.cut(b, a) }

// Partition splits the network: nodes in different groups cannot exchange
// packets or streams, in either direction. Nodes not named in any group
// (including nodes created later) form one more group together, so
// Partition([]string{"a"}) separates a from everyone else. Partition
// replaces the previous Partition call; blocks and isolations stay. Open
// streams that cross the new partition are closed at once (see doc.go).
// Partition with no groups removes the group partition.
func (n *Network) Partition(groups ...[]string) error {
	var g map[string]int
	if len(groups) > 0 {
		g = make(map[string]int)
		for i, grp := range groups {
			for _, name := range grp {
				if name == "" {
					return fmt.Errorf("%w: empty node name in group %d", ErrBadPartition, i)
				}
				if _, dup := g[name]; dup {
					return fmt.Errorf("%w: %q is in two groups", ErrBadPartition, name)
				}
				g[name] = i + 1
			}
		}
	}
	n.changeTopology(func(p *partitions) { p.group = g }, "partition", "groups", fmt.Sprint(groups))
	return nil
}

// Block cuts the one-way link from→to: packets from→to are dropped, packets
// to→from still flow. Streams need both directions, so dials either way
// fail and open streams between the two are closed.
func (n *Network) Block(from, to string) {
	n.changeTopology(func(p *partitions) { p.blocked[link{from, to}] = true }, "block", "from", from, "to", to)
}

// Unblock undoes Block(from, to).
func (n *Network) Unblock(from, to string) {
	n.changeTopology(func(p *partitions) { delete(p.blocked, link{from, to}) }, "unblock", "from", from, "to", to)
}

// Isolate cuts name off from every other node, in both directions, until
// Heal. Isolations add up: isolating a and then b leaves both isolated.
func (n *Network) Isolate(name string) {
	n.changeTopology(func(p *partitions) { p.isolated[name] = true }, "isolate", "node", name)
}

// Heal removes every partition, block and isolation. Link faults stay.
func (n *Network) Heal() {
	n.changeTopology(func(p *partitions) { p.reset() }, "heal")
}

// Partitioned reports whether packets from→to are currently cut.
func (n *Network) Partitioned(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.parts.cut(from, to)
}

// changeTopology applies change under the lock, then closes every open
// stream that the new topology cuts.
func (n *Network) changeTopology(change func(*partitions), what string, args ...any) {
	n.mu.Lock()
	change(&n.parts)
	cut := n.takeStreamsLocked(func(s *stream) bool {
		return n.parts.cutEither(s.dialer.name, s.listener.name)
	})
	n.mu.Unlock()
	closeStreams(cut)
	n.log.Info(what, slices.Concat(args, []any{"streams_cut", len(cut)})...)
}
