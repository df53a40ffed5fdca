package mesh

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNodeMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := newCluster(t, 1, nil)
	cfg := c.testConfig("m0")
	cfg.Registerer = reg
	if _, err := c.add(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.add(c.testConfig("m1")); err != nil {
		t.Fatal(err)
	}
	c.waitMembers(c.nodes, 2)
	if err := c.nodes[1].Update(context.Background(), set("a", "b")); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 10*time.Second, c.nodes)
	got, nodes := gatherMetrics(t, reg)
	if len(nodes) != 1 || !nodes["m0"] {
		t.Fatalf("node labels %v, want only m0", nodes)
	}
	for key, min := range map[string]float64{
		"syncmesh_mesh_members":                        2,
		"syncmesh_mesh_version_ops":                    1,
		"syncmesh_mesh_messages_received_total/digest": 1,
		"syncmesh_mesh_applied_changes_total":          1,
		"syncmesh_mesh_queue_depth/inbox":              0,
		"syncmesh_mesh_drops_total/watch":              0,
		"syncmesh_mesh_convergence_lag_seconds":        0,
		"syncmesh_mesh_bytes_received_total/digest":    1,
		"syncmesh_mesh_anti_entropy_rounds_total":      0,
		"syncmesh_mesh_refused_peers_total":            0,
		"syncmesh_mesh_quarantined_changes":            0,
	} {
		v, ok := got[key]
		if !ok || v < min {
			t.Errorf("%s = %v (present %v), want >= %v", key, v, ok, min)
		}
	}
	if err := c.nodes[0].Close(); err != nil {
		t.Fatal(err)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Fatalf("metrics still registered after Close: %d families", len(mfs))
	}
}

// gatherMetrics collects reg into values keyed by metric name, followed by
// "/" and the value of each label other than "node" (gauges and counters
// alike), and the set of "node" label values seen.
func gatherMetrics(t *testing.T, reg prometheus.Gatherer) (map[string]float64, map[string]bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, nodes := map[string]float64{}, map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" {
					nodes[l.GetValue()] = true
				} else {
					key += "/" + l.GetValue()
				}
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return got, nodes
}
