// Package server runs one long-lived syncmesh node: a mesh.Node over
// memberlist plus the HTTP API and dashboard (httpapi), with a clean stop.
// It is what `syncmesh node` calls after parsing its flags.
//
// Invariants:
//   - Run returns only after everything it started has stopped: on ctx's
//     end it closes open watch streams, shuts the HTTP server down, leaves
//     the mesh (announcing the departure, bounded by LeaveTimeout) and
//     closes the node.
//   - Peers that cannot be reached at start are retried in the background
//     until one answers, so nodes can be started in any order.
//   - The data directory is created (0700) and checked writable at start.
//     Durable storage (issue 6) is not wired yet: the node keeps its state
//     in memory and takes a fresh replica id on every start.
//
// Usage:
//
//	cfg := server.DefaultConfig()
//	cfg.Name, cfg.Join = "n1", []string{"10.0.0.2:7946"}
//	err := server.Run(ctx, cfg) // until ctx ends
package server
