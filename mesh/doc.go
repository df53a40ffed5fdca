// Package mesh is the embeddable syncmesh node: it serves a replicated crdt
// document, gossips its changes between peers over hashicorp/memberlist and
// repairs whatever gossip loses with anti-entropy. See docs/protocol.md for
// the wire format, the dissemination tiers and the limits.
//
// # Layers
//
//   - wire.go: every message is a protocol version byte, an append-only
//     type byte and a msgpack array payload. Decode checks every length
//     before allocating and never panics.
//   - Core (core.go): the pure protocol state machine. Inputs (a local
//     change, a message, a tick with the time in ms, a peer up or down) go
//     in; an Output (broadcasts for the gossip queue, direct sends, applied
//     effects) comes back. It has no goroutines, sockets, wall time or
//     global randomness, so simulations drive it in virtual time. An
//     in-process driver can skip the wire both ways: Broadcast.Message and
//     Send.Message are what Msg encodes, ReceiveDecoded takes decoded
//     messages, and Advance moves the core's time for messages it drops
//     itself as duplicates. Messages passed either way are read-only.
//   - Node (node.go): the driver. It owns memberlist, the goroutines (one
//     protocol loop, a few send workers) and the timers, and serialises
//     every call into the Core and the document under one lock.
//   - Document (document.go): what the Core needs from the document;
//     NewDocument adapts *crdt.Doc, and tests use an in-memory fake.
//   - durableDocument (durable.go): with Config.DataDir, the document
//     wrapper that hands every applied change to the mesh/store store, and
//     the restore that New runs from it (docs/durability.md).
//
// # Invariants
//
//   - memberlist is never blocked: NotifyMsg and the event callbacks copy
//     what they get into bounded channels and return; when a channel is
//     full the item is dropped and counted, and anti-entropy recovers lost
//     changes because the version vector did not advance.
//   - Every queue is bounded (inbox, outbox, gossip queue, per-watcher
//     buffers, membership events) and its depth and drops are in Status.
//   - A change is applied at most once and never against the wrong base:
//     the document enforces per-replica order and causal readiness; the
//     Core only decides what to send and ask for.
//   - A change is re-gossiped at most once per node (the first time it is
//     new to the node's version vector), because memberlist never
//     re-gossips user messages by itself.
//   - Remote changes too far ahead of physical time are quarantined by the
//     document and retried on every tick; never silently dropped.
//   - Peers with another protocol version or strategy-table fingerprint are
//     refused at join time (memberlist alive and merge delegates); with
//     Config.SecretKeys set, traffic without the key is discarded by
//     memberlist before it reaches the Node.
//   - Rejected messages are counted by reason and logged at debug level.
//   - With Config.DataDir, Update returns nil only once its change is
//     durable, and an own change is shown to watchers, gossiped or served
//     by anti-entropy only once durable, so a restart after a crash never
//     reuses a sequence number anyone has seen. A damaged or foreign data
//     directory makes New refuse to start; a failed store makes the Node
//     fail closed (ErrStorage).
//
// # Usage
//
//	cfg := mesh.DefaultConfig()
//	cfg.Name = "node-1"
//	cfg.DataDir = "/var/lib/syncmesh/node-1" // "" keeps everything in memory
//	n, err := mesh.New(cfg)
//	if err != nil { ... }
//	if err := n.Start(ctx); err != nil { ... }
//	defer n.Close()
//	_, err = n.Join(ctx, []string{"10.0.0.2:7946"})
//	err = n.Update(ctx, func(d *draft.Draft) error {
//		return d.Root().Set("greeting", draft.String("hello"))
//	})
//	for ev := range n.Watch(ctx) { ... ev.Patches ... }
//	st := n.Status() // or register Config.Registerer for Prometheus
package mesh
