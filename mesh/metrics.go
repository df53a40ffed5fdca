package mesh

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports a Node's Status as Prometheus metrics. Each scrape calls
// Status once. It is safe for concurrent use.
type collector struct {
	n     *Node
	descs map[string]*prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

// metricHelp lists every metric: name (after the "syncmesh_mesh_" prefix),
// variable labels and help.
var metricHelp = []struct {
	name   string
	labels []string
	help   string
}{
	{"members", nil, "Live members of the mesh, this node included."},
	{"version_ops", nil, "Operations covered by this node's version vector."},
	{"pending_changes", nil, "Changes held until their causal dependencies arrive."},
	{"quarantined_changes", nil, "Changes held until physical time catches up with their clocks."},
	{"queue_depth", []string{"queue"}, "Current length of a bounded queue (inbox, outbox, broadcast)."},
	{"messages_sent_total", []string{"type"}, "Messages sent, gossip and direct, by type."},
	{"bytes_sent_total", []string{"type"}, "Bytes sent, gossip and direct, by message type."},
	{"messages_received_total", []string{"type"}, "Messages received and accepted, by type."},
	{"bytes_received_total", []string{"type"}, "Bytes of accepted messages, by type."},
	{"messages_rejected_total", []string{"reason"}, "Messages rejected, by reason."},
	{"drops_total", []string{"what"}, "Items dropped by a full bounded queue (inbox, send, broadcast, watch, event)."},
	{"send_errors_total", nil, "Direct sends that failed."},
	{"refused_peers_total", nil, "Alive or merge notices refused for an incompatible peer."},
	{"applied_changes_total", nil, "Change batches newly applied."},
	{"duplicate_messages_total", nil, "Gossiped changes and announces already covered."},
	{"regossiped_total", nil, "Changes and announces re-gossiped on first sight."},
	{"fetches_total", nil, "Fetches sent for announced changes."},
	{"anti_entropy_rounds_total", nil, "Anti-entropy digests sent on the timer."},
	{"snapshots_sent_total", nil, "Catch-up snapshots sent."},
	{"snapshots_merged_total", nil, "Catch-up snapshots merged."},
	{"convergence_lag_seconds", nil, "Time from the newest remote change's clock to its apply here, at the last remote apply."},
	{"store_failed", nil, "1 when the durable store failed and the node acknowledges no more updates (restart it), else 0."},
	{"undurable_ops", nil, "Own operations applied in memory whose store writes are not yet durable."},
	{"store_commits_total", nil, "Store transactions committed (one fsync each with durability on)."},
	{"store_writes_total", nil, "Store writes committed; divided by commits, the group-commit batch size."},
	{"store_write_errors_total", nil, "Store writes that failed."},
}

// durableMetrics are the metrics only a Node with a data directory exports.
var durableMetrics = map[string]bool{
	"store_failed": true, "undurable_ops": true, "store_commits_total": true,
	"store_writes_total": true, "store_write_errors_total": true,
}

func newCollector(n *Node) *collector {
	c := &collector{n: n, descs: map[string]*prometheus.Desc{}}
	for _, m := range metricHelp {
		c.descs[m.name] = prometheus.NewDesc("syncmesh_mesh_"+m.name, m.help, m.labels,
			prometheus.Labels{"node": n.cfg.Name})
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metricHelp {
		if durableMetrics[m.name] && c.n.durable == nil {
			continue
		}
		ch <- c.descs[m.name]
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.Status()
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	counter := func(name string, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), labels...)
	}
	byType := func(name string, m map[MsgType]uint64) {
		for _, t := range slices.Sorted(maps.Keys(m)) {
			counter(name, m[t], t.String())
		}
	}
	gauge("members", float64(st.Members))
	gauge("version_ops", float64(st.Version.Total()))
	gauge("pending_changes", float64(st.Pending))
	gauge("quarantined_changes", float64(st.Quarantined))
	gauge("queue_depth", float64(st.InboxDepth), "inbox")
	gauge("queue_depth", float64(st.OutboxDepth), "outbox")
	gauge("queue_depth", float64(st.BroadcastQueueDepth), "broadcast")
	byType("messages_sent_total", st.SentMessages)
	byType("bytes_sent_total", st.SentBytes)
	byType("messages_received_total", st.ReceivedMessages)
	byType("bytes_received_total", st.ReceivedBytes)
	for _, r := range slices.Sorted(maps.Keys(st.Rejected)) {
		counter("messages_rejected_total", st.Rejected[r], string(r))
	}
	counter("drops_total", st.InboxDrops, "inbox")
	counter("drops_total", st.SendDrops, "send")
	counter("drops_total", st.BroadcastPruned, "broadcast")
	counter("drops_total", st.WatchDrops, "watch")
	counter("drops_total", st.EventDrops, "event")
	counter("send_errors_total", st.SendErrors)
	counter("refused_peers_total", st.RefusedPeers)
	counter("applied_changes_total", st.AppliedChanges)
	counter("duplicate_messages_total", st.Duplicates)
	counter("regossiped_total", st.Regossiped)
	counter("fetches_total", st.Fetches)
	counter("anti_entropy_rounds_total", st.AntiEntropyRounds)
	counter("snapshots_sent_total", st.SnapshotsSent)
	counter("snapshots_merged_total", st.SnapshotsMerged)
	gauge("convergence_lag_seconds", float64(st.LastLagMillis)/1000)
	if st.Durable {
		failed := 0.0
		if st.Failure != "" {
			failed = 1
		}
		gauge("store_failed", failed)
		gauge("undurable_ops", float64(st.UndurableOps))
		counter("store_commits_total", st.StoreCommits)
		counter("store_writes_total", st.StoreWrites)
		counter("store_write_errors_total", st.StoreWriteErrors)
	}
}
