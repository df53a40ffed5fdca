package simulations

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Dist summarises a distribution of times in milliseconds.
type Dist struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func distOf(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	return Dist{Count: len(xs), P50: percentile(xs, 50), P99: percentile(xs, 99), Max: xs[len(xs)-1]}
}

// SharePoint is one point of the share-of-nodes curve: the median time
// after a write at which Share of the live nodes held it.
type SharePoint struct {
	Share    float64 `json:"share"`
	MedianMs float64 `json:"median_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

// Report is the outcome of a run. It holds no wall-clock figure, so the
// same scenario and seed give the same bytes.
type Report struct {
	Scenario   string  `json:"scenario"`
	Seed       uint64  `json:"seed"`
	Nodes      int     `json:"nodes"`
	FinalLive  int     `json:"final_live_nodes"`
	Fanout     int     `json:"fanout"`
	IntervalMs int64   `json:"gossip_interval_ms"`
	Loss       float64 `json:"base_loss"`
	SimSeconds float64 `json:"virtual_seconds"`

	Writes        int `json:"writes"`
	SkippedWrites int `json:"skipped_writes"`
	LostWithNode  int `json:"writes_lost_with_a_node"`

	// WriteConvergence: time from each write until every live node held it.
	WriteConvergence Dist `json:"write_convergence"`
	// Reach9999: time until 99.99 % of live nodes held it (Serf's figure).
	Reach9999 Dist `json:"reach_99_99"`
	// HealConvergence: time from each heal (partition end, restart) until
	// every write made before it was on every live node.
	HealConvergence Dist    `json:"heal_convergence"`
	Heals           []int64 `json:"heal_at_ms,omitempty"`

	EpidemicBoundMs float64 `json:"epidemic_bound_ms"`

	MsgsPerNodeSec  float64 `json:"msgs_per_node_per_s"`
	BytesPerNodeSec float64 `json:"bytes_per_node_per_s"`
	GossipPackets   uint64  `json:"gossip_packets"`
	GossipBytes     uint64  `json:"gossip_bytes"`
	StreamMsgs      uint64  `json:"stream_msgs"`
	StreamBytes     uint64  `json:"stream_bytes"`

	QueuePeak      int `json:"broadcast_queue_peak"`
	PendingPeak    int `json:"pending_peak"`
	QuarantinePeak int `json:"quarantine_peak"`

	Drops       Drops       `json:"drops"`
	Faults      FaultCounts `json:"faults"`
	Quarantined uint64      `json:"quarantined_ops"`
	Duplicates  uint64      `json:"duplicate_deliveries"`
	Rejected    uint64      `json:"rejected_msgs"`

	AntiEntropyRounds uint64 `json:"anti_entropy_rounds"`
	SnapshotsSent     uint64 `json:"snapshots_sent"`

	Share       []SharePoint `json:"share_curve"`
	BytesPerSec []uint64     `json:"bytes_per_s"`
	Invariants  []string     `json:"invariants_checked"`
}

// Drops counts messages and operations dropped, by cause.
type Drops struct {
	Loss        uint64 `json:"loss"`
	Partition   uint64 `json:"partition"`
	DeadPeer    uint64 `json:"dead_peer"`
	QueuePruned uint64 `json:"queue_pruned"`
	PendingFull uint64 `json:"pending_full"`
}

// FaultCounts counts what the network and timeline did.
type FaultCounts struct {
	Duplicated uint64 `json:"duplicated_packets"`
	Reordered  uint64 `json:"reordered_packets"`
	Replicas   int    `json:"replicas_created"`
}

// EpidemicBound returns the expected time (ms) for a push epidemic with
// fanout k and round length interval to reach all of n nodes:
// (log_{k+1} n + ln(n)/k) rounds.
func EpidemicBound(n, k int, intervalMs float64) float64 {
	if n <= 1 {
		return 0
	}
	rounds := math.Log(float64(n))/math.Log(float64(k+1)) + math.Log(float64(n))/float64(k)
	return rounds * intervalMs
}

func (s *Sim) report() *Report {
	r := &Report{
		Scenario:        s.sc.Name,
		Seed:            s.sc.Seed,
		Nodes:           s.sc.Nodes,
		FinalLive:       s.live,
		Fanout:          s.sc.Gossip.Fanout,
		IntervalMs:      s.sc.Gossip.Interval.Millis(),
		Loss:            s.sc.Network.Loss,
		SimSeconds:      float64(s.now) / 1e6,
		Writes:          len(s.wr.all),
		LostWithNode:    s.wr.lost,
		SkippedWrites:   s.st.skippedWrites,
		EpidemicBoundMs: EpidemicBound(s.sc.Nodes, s.sc.Gossip.Fanout, float64(s.sc.Gossip.Interval.Millis())),
		GossipPackets:   s.st.gossipPackets,
		GossipBytes:     s.st.gossipBytes,
		StreamMsgs:      s.st.streamMsgs,
		StreamBytes:     s.st.streamBytes,
		QueuePeak:       s.st.queuePeak,
		PendingPeak:     s.st.pendingPeak,
		QuarantinePeak:  s.st.quarantinePeak,
		Duplicates:      s.st.duplicates,
		Rejected:        s.st.rejected,
		BytesPerSec:     s.st.bytesPerSec,
		Invariants:      Invariants,
		Heals:           []int64{},
	}
	var conv, reach []float64
	perMark := make([][]float64, len(shareMarks))
	for _, w := range s.wr.all {
		if w.lost || w.converged < 0 {
			continue
		}
		conv = append(conv, float64(w.converged-w.at)/1000)
		if m := w.marks[len(shareMarks)-2]; m >= 0 {
			reach = append(reach, float64(m))
		}
		for i, m := range w.marks {
			if m >= 0 {
				perMark[i] = append(perMark[i], float64(m))
			}
		}
	}
	r.WriteConvergence = distOf(conv)
	r.Reach9999 = distOf(reach)
	for i, xs := range perMark {
		d := distOf(xs)
		r.Share = append(r.Share, SharePoint{Share: shareMarks[i], MedianMs: d.P50, P99Ms: d.P99})
	}
	var heal []float64
	for _, h := range s.heals {
		r.Heals = append(r.Heals, h/1000)
		last := h
		for _, w := range s.wr.all {
			if w.lost || w.at >= h {
				continue
			}
			last = max(last, w.converged)
		}
		heal = append(heal, float64(last-h)/1000)
	}
	r.HealConvergence = distOf(heal)
	var dropped, quar uint64
	for _, n := range s.nodes {
		if n.ad == nil {
			continue
		}
		dropped += n.ad.dropped
		quar += n.ad.quarantinedTotal
		if n.core != nil {
			st := n.core.Stats()
			r.AntiEntropyRounds += st.AntiEntropyRounds
			r.SnapshotsSent += st.SnapshotsSent
		}
	}
	r.Quarantined = quar
	r.Faults = FaultCounts{Duplicated: s.net.dups, Reordered: s.net.reordered, Replicas: int(s.nextRep)}
	r.Drops = Drops{Loss: s.net.dropsLoss, Partition: s.net.dropsPart, DeadPeer: s.st.dropsDead, QueuePruned: s.st.dropsPruned, PendingFull: dropped}
	nodeSec := float64(max(len(s.nodes), 1)) * max(r.SimSeconds, 1e-9)
	r.MsgsPerNodeSec = float64(s.st.gossipPackets+s.st.streamMsgs) / nodeSec
	r.BytesPerNodeSec = float64(s.st.gossipBytes+s.st.streamBytes) / nodeSec
	return r
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic("simulations: report does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// Markdown returns the report as a Markdown table.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s (seed %d)\n\n", r.Scenario, r.Seed)
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	row := func(k, format string, a ...any) { fmt.Fprintf(&b, "| %s | "+format+" |\n", append([]any{k}, a...)...) }
	dist := func(d Dist) string {
		if d.Count == 0 {
			return "–"
		}
		return fmt.Sprintf("p50 %.0f ms, p99 %.0f ms, max %.0f ms (n=%d)", d.P50, d.P99, d.Max, d.Count)
	}
	row("nodes (start / end)", "%d / %d", r.Nodes, r.FinalLive)
	row("gossip", "fanout %d, every %d ms, base loss %.0f %%", r.Fanout, r.IntervalMs, r.Loss*100)
	row("virtual time", "%.1f s", r.SimSeconds)
	row("writes (skipped, lost with a node)", "%d (%d, %d)", r.Writes, r.SkippedWrites, r.LostWithNode)
	row("convergence after a write", "%s", dist(r.WriteConvergence))
	row("99.99 % of nodes reached", "%s", dist(r.Reach9999))
	row("epidemic bound", "%.0f ms", r.EpidemicBoundMs)
	row("convergence after a heal", "%s", dist(r.HealConvergence))
	row("messages per node per s", "%.1f", r.MsgsPerNodeSec)
	row("bytes per node per s", "%.0f", r.BytesPerNodeSec)
	row("gossip packets / bytes", "%d / %d", r.GossipPackets, r.GossipBytes)
	row("stream messages / bytes", "%d / %d", r.StreamMsgs, r.StreamBytes)
	row("queue peaks (broadcast, pending, quarantine)", "%d, %d, %d", r.QueuePeak, r.PendingPeak, r.QuarantinePeak)
	row("drops (loss, partition, dead peer, pruned, pending full)", "%d, %d, %d, %d, %d",
		r.Drops.Loss, r.Drops.Partition, r.Drops.DeadPeer, r.Drops.QueuePruned, r.Drops.PendingFull)
	row("quarantined operations", "%d", r.Quarantined)
	row("duplicate deliveries", "%d", r.Duplicates)
	row("anti-entropy rounds / snapshots", "%d / %d", r.AntiEntropyRounds, r.SnapshotsSent)
	row("invariants", "all %d held", len(r.Invariants))
	return b.String()
}

// Summary is the one-line summary printed at the end of a run.
func (r *Report) Summary() string {
	return fmt.Sprintf("%s seed=%d nodes=%d writes=%d converged: p50=%.0fms p99=%.0fms max=%.0fms (bound %.0fms) %.0f B/node/s, invariants ok",
		r.Scenario, r.Seed, r.Nodes, r.Writes, r.WriteConvergence.P50, r.WriteConvergence.P99, r.WriteConvergence.Max, r.EpidemicBoundMs, r.BytesPerNodeSec)
}
