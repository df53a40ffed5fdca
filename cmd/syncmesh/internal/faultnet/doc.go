// Package faultnet wraps memberlist's real UDP/TCP transport with injected
// faults, for the command line's demo: a seeded fraction of outgoing packets
// is dropped (packet loss), and nodes can be split into groups that cannot
// reach each other (a partition) until healed.
//
// Unlike mesh/memnet, which replaces the network, faultnet keeps real sockets
// on loopback: the demo shows syncmesh over the network stack it will meet
// in production, with faults on top.
//
// Invariants:
//   - Loss applies to packets (UDP: gossip, probes), never to streams (TCP):
//     TCP retransmits, so dropping a stream would model a broken network,
//     not a lossy one. A partition blocks both.
//   - Drops are decided by one seeded PCG shared by every wrapped transport,
//     so a run's loss pattern depends only on the seed and the send order.
//   - A dropped packet is reported to memberlist as sent, as a real lossy
//     network would.
//
// Usage:
//
//	net := faultnet.New(faultnet.Config{Loss: 0.2, Seed: 1})
//	t, err := net.Listen("127.0.0.1")       // a *Transport on a free port
//	cfg.Transport = t                        // mesh.Config
//	net.Partition([]string{t.Addr()}, other) // later: net.Heal()
package faultnet
