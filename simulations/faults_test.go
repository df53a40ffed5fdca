package simulations

import (
	"errors"
	"strings"
	"testing"
)

// small is a 16-node scenario the fault tests add one fault to.
func small(faults ...Fault) Scenario {
	c := 0.2
	return Scenario{
		Name: "fault-test", Seed: 3, Nodes: 16,
		Network:  NetworkParams{Latency: ms(1), Jitter: ms(1)},
		Workload: Workload{Writes: 120, Rate: 30, Keys: 20, Conflict: &c},
		Faults:   faults,
	}
}

func run(t *testing.T, sc Scenario) *Report {
	t.Helper()
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run()
	if err != nil {
		t.Fatalf("seed %d: %v", sc.Seed, err)
	}
	return r
}

// TestFaults runs each fault on a small mesh: every run must hold every
// invariant, and each fault must show its effect in the report.
func TestFaults(t *testing.T) {
	base := run(t, small())
	if base.Drops.Loss+base.Drops.Partition+base.Faults.Duplicated+base.Faults.Reordered+base.Quarantined != 0 {
		t.Fatalf("fault-free run shows faults: %+v %+v", base.Drops, base.Faults)
	}
	tests := []struct {
		name  string
		f     Fault
		check func(r *Report) string
	}{
		{"loss", Fault{Kind: FaultLoss, At: ms(1000), Until: ms(4000), Rate: 0.3}, func(r *Report) string { return unless(!(r.Drops.Loss == 0), "no packet lost") }},
		{"burst_loss", Fault{Kind: FaultBurstLoss, At: ms(1000), Until: ms(4000), EnterBad: 0.1, ExitBad: 0.3, BadLoss: 0.9}, func(r *Report) string { return unless(!(r.Drops.Loss == 0), "no packet lost") }},
		{"delay", Fault{Kind: FaultDelay, At: ms(1000), Until: ms(5000), Latency: ms(150), Jitter: ms(50)}, func(r *Report) string {
			return unless(!(r.WriteConvergence.P50 <= base.WriteConvergence.P50), "delay did not slow convergence")
		}},
		{"duplicate", Fault{Kind: FaultDuplicate, At: ms(1000), Until: ms(4000), Rate: 0.5}, func(r *Report) string { return unless(!(r.Faults.Duplicated == 0), "nothing duplicated") }},
		{"reorder", Fault{Kind: FaultReorder, At: ms(1000), Until: ms(4000), Rate: 0.5, Extra: ms(400)}, func(r *Report) string { return unless(!(r.Faults.Reordered == 0), "nothing reordered") }},
		{"partition halves", Fault{Kind: FaultPartition, Mode: "halves", At: ms(1500), Until: ms(4000)}, healed},
		{"partition bridge", Fault{Kind: FaultPartition, Mode: "bridge", Node: 2, At: ms(1500), Until: ms(4000)}, healed},
		{"partition oneway", Fault{Kind: FaultPartition, Mode: "oneway", At: ms(1500), Until: ms(4000)}, healed},
		{"partition isolate", Fault{Kind: FaultPartition, Mode: "isolate", Node: 3, At: ms(1500), Until: ms(4000)}, healed},
		{"flap", Fault{Kind: FaultFlap, At: ms(1500), Until: ms(4500), Period: ms(500)}, healed},
		{"crash with disk", Fault{Kind: FaultCrash, Node: 4, At: ms(2000), Restart: ms(1500), Disk: true}, func(r *Report) string {
			return unless(!(r.Faults.Replicas != 16 || len(r.Heals) != 1 || r.FinalLive != 16), "want the same 16 replicas, one restart, 16 live")
		}},
		{"crash without disk", Fault{Kind: FaultCrash, Node: 4, At: ms(2000), Restart: ms(1500)}, func(r *Report) string {
			return unless(!(r.Faults.Replicas != 17 || r.FinalLive != 16), "want a new replica for the restarted node")
		}},
		{"crash for good", Fault{Kind: FaultCrash, Node: 4, At: ms(2000)}, func(r *Report) string { return unless(!(r.FinalLive != 15), "want 15 live nodes") }},
		{"skew within drift", Fault{Kind: FaultSkew, Node: 1, Offset: ms(300)}, func(r *Report) string {
			return unless(!(r.Quarantined != 0), "changes within the drift were quarantined")
		}},
		{"skew beyond drift", Fault{Kind: FaultSkew, Node: 1, Offset: ms(2000)}, func(r *Report) string {
			return unless(!(r.Quarantined == 0), "changes beyond the drift were not quarantined")
		}},
		{"jump", Fault{Kind: FaultJump, Node: 1, At: ms(2000), Offset: ms(3000)}, func(r *Report) string {
			return unless(!(r.Quarantined == 0), "changes after a forward jump were not quarantined")
		}},
		{"join", Fault{Kind: FaultJoin, At: ms(2000), Count: 3}, func(r *Report) string { return unless(!(r.FinalLive != 19), "want 19 live nodes") }},
		{"leave", Fault{Kind: FaultLeave, Node: 5, At: ms(2000)}, func(r *Report) string { return unless(!(r.FinalLive != 15), "want 15 live nodes") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, small(tt.f))
			if msg := tt.check(r); msg != "" {
				t.Fatalf("%s: %s\n%s", tt.name, msg, r.Markdown())
			}
		})
	}
}

func healed(r *Report) string {
	if r.Drops.Partition == 0 || len(r.Heals) != 1 || r.HealConvergence.Count != 1 {
		return "want partition drops and one measured heal"
	}
	return ""
}

// TestScenarioErrors: bad files are refused with an error naming the field.
func TestScenarioErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"nodes: 3\nbogus: 1\n", `unknown field "bogus"`},
		{"nodes: 0\n", "nodes = 0"},
		{"nodes: 3\nnetwork: {loss: 1.5}\n", "network.loss"},
		{"nodes: 3\nnetwork: {latency: fast}\n", "bad duration"},
		{"nodes: 3\nworkload: {distribution: pareto}\n", "workload.distribution"},
		{"nodes: 3\nfaults: [{kind: meteor, at: 1s}]\n", `unknown kind "meteor"`},
		{"nodes: 3\nfaults: [{kind: crash, node: 7, at: 1s}]\n", "node 7 out of range"},
		{"nodes: 3\nfaults: [{kind: loss, at: 2s, until: 1s, rate: 0.1}]\n", "until"},
		{"nodes: 3\nfaults: [{kind: partition, mode: thirds, at: 1s, until: 2s}]\n", "mode"},
		{"nodes: 3\nworkload: {mix: {set: 0, delete: 0, counter: 0, list: 0}}\n", "workload.mix"},
	}
	for _, tt := range tests {
		_, err := ParseScenario([]byte(tt.yaml), false)
		if err == nil || !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an ErrScenario containing %q", tt.yaml, err, tt.want)
		}
	}
	// JSON is accepted too, with the same fields.
	if _, err := ParseScenario([]byte(`{"nodes": 3, "gossip": {"interval": "100ms"}}`), true); err != nil {
		t.Fatal(err)
	}
}

// unless returns msg when ok is false.
func unless(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}
