// Package demo runs the syncmesh gossip demo: N mesh nodes in one process on
// 127.0.0.1 over real memberlist sockets, concurrent conflicting edits made
// on different nodes, a progress display while they gossip, then the
// converged state, how each conflict was resolved and the convergence time.
//
// Invariants:
//   - Run reports Converged only when every node holds an equal state and an
//     equal version vector; nothing is inferred from elapsed time.
//   - The edits of the conflict phase are issued on all nodes at once, in
//     separate goroutines, before any of them can have gossiped; with a
//     partition they are issued while the nodes are split, so they are
//     concurrent by construction.
//   - What the demo prints about conflicts comes from the converged
//     documents (crdt Conflicts), not from what the demo expected.
//
// Usage:
//
//	cfg := demo.DefaultConfig()
//	cfg.Out = os.Stdout
//	rep, err := demo.Run(ctx, cfg)
//	// rep.Converged, rep.ConvergeTime
package demo
