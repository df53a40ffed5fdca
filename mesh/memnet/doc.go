// Package memnet is an in-memory, fault-injecting network for
// hashicorp/memberlist. Each node gets a Transport (a
// memberlist.NodeAwareTransport) from a shared Network, and the Network
// decides the fate of every packet and stream: uniform and bursty
// (Gilbert–Elliott) loss, delay with uniform or normal jitter, explicit
// reordering, duplication, per-link overrides of all of these, partitions,
// one-way blocks and isolated nodes. It lets the mesh package and the
// simulations run 5 to ~100 real memberlist nodes in one process.
//
// # What it models
//
// Packets model UDP datagrams: best effort, copied on send, possibly lost,
// late, reordered or duplicated. Streams model TCP connections: reliable
// and immediate (LinkFaults never touch them), but refused when the nodes
// are partitioned in either direction, when either node is shut down, or
// when the target's accept queue is full. Every node has the address
// 10.x.y.z:7946 with a distinct IP, so memberlist sees ordinary IPv4
// addresses; routing is by address, the node name in
// memberlist.Address is ignored.
//
// # Invariants
//
//   - A sender never blocks. WriteTo delivers into a bounded queue without
//     waiting, or drops (and counts) the packet; DialTimeout succeeds or
//     fails at once, so it can never hang past its timeout.
//   - Every packet copy is counted exactly once as delivered or dropped
//     with one reason; when nothing is in flight,
//     PacketsSent + Duplicated == PacketsDelivered + Dropped.Total().
//   - Copies with equal delay on a link arrive in send order; only jitter
//     and Reorder reorder packets.
//   - Partitions are checked when a packet is sent and again when a delayed
//     copy is due, so nothing crosses a cut link after Partition, Block or
//     Isolate returns. Streams already open across a newly cut link are
//     closed at once (each end then fails with io.ErrClosedPipe), which is
//     harsher than real TCP, where they would stall until a deadline.
//   - Transport.Shutdown drops the node's pending packets, closes its
//     streams, and makes later packets to it drop and dials to it fail.
//     Network.Close does that for every node and waits for the one
//     goroutine memnet runs (the delayed-delivery scheduler, alive only
//     while delayed copies are pending). Nothing is left running.
//   - PacketCh and StreamCh are never closed, because memberlist keeps
//     selecting on them until its own shutdown completes.
//
// # Determinism
//
// All randomness comes from one PCG generator seeded with Config.Seed and
// used under the Network's lock. The same seed and the same sequence of
// WriteTo calls give the same fault decisions: which packets are lost or
// duplicated and what delay each copy gets. Delivery itself runs on wall
// clock timers, and memberlist's own timers are wall clock too, so with
// several goroutines sending the interleaving, and hence the exact
// decisions, are not reproducible; only the decisions for a given order
// are.
//
// # Using it with memberlist
//
// Set memberlist.Config.Transport to a Transport and give every node a
// unique Name; join with Transport.Addr or Network.Addr. Things learnt
// while testing it:
//
//   - memberlist does not heal a partition by itself. It never probes or
//     push/pulls with nodes it has declared dead, and gossips to them
//     (within GossipToTheDeadTime) only while it has broadcasts queued. A
//     short partition may merge on its own after Heal; one held for a few
//     seconds after both sides declared each other dead did not merge in
//     20 s in our test. An application must Join across (as Serf's
//     reconnector does); one Join suffices while GossipToTheDeadTime has
//     not run out.
//   - Under -race on a loaded 2-core machine goroutines stall for hundreds
//     of milliseconds, so memberlist timers tighter than about
//     ProbeInterval 300ms / ProbeTimeout 150ms / SuspicionMult 3 make
//     healthy nodes flap. The package's memberlist_test.go has a config
//     that is stable there; 100 nodes converge in about 8 s without -race
//     and 22 s with it.
//
// # Usage
//
//	n, _ := memnet.New(memnet.DefaultConfig())
//	defer n.Close()
//	for _, name := range []string{"a", "b", "c"} {
//		t, _ := n.NewTransport(name)
//		cfg := memberlist.DefaultLocalConfig()
//		cfg.Name = name
//		cfg.Transport = t
//		m, _ := memberlist.Create(cfg)
//		defer m.Shutdown()
//		// m.Join([]string{firstAddr}) ...
//	}
//	_ = n.SetFaults(memnet.LinkFaults{Loss: 0.2, Delay: 5 * time.Millisecond})
//	_ = n.Partition([]string{"a"}, []string{"b", "c"})
//	n.Heal()
package memnet
