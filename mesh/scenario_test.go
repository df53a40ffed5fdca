package mesh

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestScenarios runs the scripts in testdata/scenarios/ against cores wired
// by coreNet (virtual time, no goroutines). One command per line; '#'
// starts a comment:
//
//	nodes N [loss=P] [dup=P] [seed=S] [snapshot=OPS] [chunk=BYTES]
//	write NODE KEY VALUE [pad=BYTES]   local change on node NODE (index)
//	burst COUNT                        every node makes COUNT changes at once
//	step N                             N steps of 100 ms
//	partition 0,1 2,3                  groups; nodes not listed form one more
//	heal
//	restart NODE                       node comes back empty, as a new replica
//	converge MAXSTEPS                  step until all equal, fail after MAXSTEPS
//	diverged                           fail if all nodes are equal
//	expect NODE KEY VALUE              node's state has KEY = VALUE
//	stat NODE NAME MIN                 core counter NAME of NODE is >= MIN
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenario(t, f) })
	}
}

func runScenario(t *testing.T, path string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var net *coreNet
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			seed := uint64(0)
			if net != nil {
				seed = net.seed
			}
			t.Fatalf("%s:%d %q (seed %d): %s", path, line, text, seed, fmt.Sprintf(format, args...))
		}
		num := func(s string) int {
			v, err := strconv.Atoi(s)
			if err != nil {
				fail("bad number %q", s)
			}
			return v
		}
		node := func(s string) int {
			i := num(s)
			if net == nil || i < 0 || i >= len(net.nodes) {
				fail("no node %q", s)
			}
			return i
		}
		opts := map[string]string{}
		for _, a := range f[1:] {
			if k, v, ok := strings.Cut(a, "="); ok {
				opts[k] = v
			}
		}
		switch f[0] {
		case "nodes":
			seed := uint64(1)
			if s, ok := opts["seed"]; ok {
				seed = uint64(num(s))
			}
			cfg := CoreConfig{}
			if s, ok := opts["snapshot"]; ok {
				cfg.SnapshotMissingOps = uint64(num(s))
			}
			if s, ok := opts["chunk"]; ok {
				cfg.ChunkBytes = num(s)
			}
			net = newCoreNet(t, seed, num(f[1]), cfg)
			if s, ok := opts["loss"]; ok {
				net.loss, _ = strconv.ParseFloat(s, 64)
			}
			if s, ok := opts["dup"]; ok {
				net.dup, _ = strconv.ParseFloat(s, 64)
			}
		case "write":
			if len(f) < 4 {
				fail("want: write NODE KEY VALUE")
			}
			pad := 0
			if s, ok := opts["pad"]; ok {
				pad = num(s)
			}
			net.write(node(f[1]), pad, f[2], f[3])
		case "burst":
			if len(f) != 2 {
				fail("want: burst COUNT")
			}
			for k := range num(f[1]) {
				for i := range net.nodes {
					net.write(i, 0, fmt.Sprintf("b%d-%d", i, k%50), strconv.Itoa(k))
				}
			}
		case "step":
			for range num(f[1]) {
				net.step()
			}
		case "partition":
			for _, nd := range net.nodes {
				nd.group = len(f)
			}
			for g, list := range f[1:] {
				for _, s := range strings.Split(list, ",") {
					net.nodes[node(s)].group = g
				}
			}
		case "heal":
			for _, nd := range net.nodes {
				nd.group = 0
			}
		case "restart":
			net.restart(node(f[1]))
		case "converge":
			max := num(f[1])
			for s := 0; !net.converged(); s++ {
				if s == max {
					fail("not converged after %d steps", max)
				}
				net.step()
			}
		case "diverged":
			if net.converged() {
				fail("all nodes are equal")
			}
		case "expect":
			if len(f) != 4 {
				fail("want: expect NODE KEY VALUE")
			}
			if got := net.nodes[node(f[1])].doc.state[f[2]].Value; got != f[3] {
				fail("%s = %q", f[2], got)
			}
		case "stat":
			if len(f) != 4 {
				fail("want: stat NODE NAME MIN")
			}
			st := net.nodes[node(f[1])].core.Stats()
			counters := map[string]uint64{
				"fetches":          st.Fetches,
				"snapshots_merged": st.SnapshotsMerged,
				"snapshots_sent":   st.SnapshotsSent,
				"anti_entropy":     st.AntiEntropyRounds,
				"regossiped":       st.Regossiped,
				"duplicates":       st.Duplicates,
				"applied":          st.AppliedChanges,
				"announced":        st.Announced,
				"gossip_deferred":  st.GossipDeferred,
				"stale":            st.StaleChanges,
			}
			v, ok := counters[f[2]]
			if !ok {
				fail("unknown counter %q", f[2])
			}
			if v < uint64(num(f[3])) {
				fail("%s = %d (%+v)", f[2], v, st)
			}
		default:
			fail("unknown command %q", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
