package simulations

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/crdt"
)

// ErrViolation is what a *Violation unwraps to.
var ErrViolation = errors.New("simulations: invariant violated")

// Violation is a broken invariant: the run stops at the first one. It
// carries the seed and the command that reproduces the run.
type Violation struct {
	Scenario  string `json:"scenario"`
	Seed      uint64 `json:"seed"`
	AtMillis  int64  `json:"at_ms"`
	Invariant string `json:"invariant"`
	Detail    string `json:"detail"`
	Command   string `json:"command"`
}

func (v *Violation) Error() string {
	return fmt.Sprintf("simulations: invariant %q violated at %d ms in %s (seed %d): %s\nreproduce: %s",
		v.Invariant, v.AtMillis, v.Scenario, v.Seed, v.Detail, v.Command)
}

// Unwrap returns ErrViolation.
func (v *Violation) Unwrap() error { return ErrViolation }

// Invariants lists what every run checks, in the report.
var Invariants = []string{
	"convergence: every live replica has the same version vector and state digest at the end",
	"no-silent-loss: every write is visible or superseded by a write whose author had seen it; counters sum every increment; the list holds every append once",
	"no-resurrection: a key whose surviving writes are all deletes is absent",
	"monotonic-versions: no replica's version vector entry ever decreases",
	"bounded-queues: broadcast queues, pending buffers and quarantines stay within their limits",
	"no-far-future: no node's clock passes its physical time by more than the maximum drift",
}

// digest is a replica's state digest: SHA-256 of its JSON.
func digest(d *crdt.Doc) string {
	b, err := d.State().MarshalJSON()
	if err != nil {
		return "unencodable: " + err.Error()
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// finalChecks runs the end-of-run invariants; the first failure becomes
// the run's violation.
func (s *Sim) finalChecks() {
	var ref *node
	refDigest := ""
	for _, n := range s.nodes {
		if !n.up {
			continue
		}
		d := digest(n.doc)
		if ref == nil {
			ref, refDigest = n, d
			continue
		}
		if !n.ad.version().Equal(ref.ad.version()) {
			s.violate("convergence", fmt.Sprintf("node %s version %v differs from node %s version %v", n.name, n.ad.version(), ref.name, ref.ad.version()))
			return
		}
		if d != refDigest {
			s.violate("convergence", fmt.Sprintf("node %s state digest %s differs from node %s digest %s with equal versions", n.name, d, ref.name, refDigest))
			return
		}
	}
	if ref == nil {
		return
	}
	if msg := s.checkOracle(ref); msg != "" {
		inv := "no-silent-loss"
		if len(msg) > 10 && msg[:10] == "resurrect:" {
			inv, msg = "no-resurrection", msg[10:]
		}
		s.violate(inv, fmt.Sprintf("on node %s: %s", ref.name, msg))
	}
}

// checkOracle compares ref's state with what the writes imply.
func (s *Sim) checkOracle(ref *node) string {
	state := ref.doc.State()
	regs := map[string][]*write{}
	var keys []string
	counters := map[string]int64{}
	var ckeys []string
	var appended []string
	for _, w := range s.wr.all {
		if w.lost {
			continue
		}
		switch w.kind {
		case wSet, wDelete:
			if _, ok := regs[w.key]; !ok {
				keys = append(keys, w.key)
			}
			regs[w.key] = append(regs[w.key], w)
		case wCounter:
			if _, ok := counters[w.key]; !ok {
				ckeys = append(ckeys, w.key)
			}
			counters[w.key] += w.delta
		case wList:
			appended = append(appended, w.value)
		}
	}
	for _, k := range keys {
		ws := regs[k]
		// Survivors: writes no other write's author had seen.
		var win *write
		allDeletes := true
		for _, w := range ws {
			superseded := false
			for _, o := range ws {
				if o != w && o.seen[w.replica] >= w.end {
					superseded = true
					break
				}
			}
			if superseded || w.kind != wSet {
				if !superseded {
					continue // a surviving delete
				}
				continue
			}
			allDeletes = false
			if win == nil || win.ts.Compare(w.ts) < 0 {
				win = w
			}
		}
		got, ok := state.Get(k)
		if allDeletes {
			if ok {
				b, _ := got.MarshalJSON()
				return fmt.Sprintf("resurrect:key %s holds %s but every write to it that survives is a delete", k, b)
			}
			continue
		}
		if !ok {
			return fmt.Sprintf("key %s is absent but write %s (%q by replica %v) was never superseded", k, win.value, win.value, win.replica)
		}
		if sv, _ := got.AsString(); sv != win.value {
			b, _ := got.MarshalJSON()
			return fmt.Sprintf("key %s shows %s, want %q: the last surviving write", k, b, win.value)
		}
	}
	cnt, _ := state.Get("cnt")
	for _, k := range ckeys {
		var got int64
		if v, ok := cnt.Get(k); ok {
			got, _ = v.AsInt()
		}
		if got != counters[k] {
			return fmt.Sprintf("counter cnt/%s is %d, want %d: the sum of every increment", k, got, counters[k])
		}
	}
	if len(appended) > 0 {
		lst, _ := state.Get("log")
		var have []string
		for i := range lst.Len() {
			v, _ := lst.Index(i)
			sv, _ := v.AsString()
			have = append(have, sv)
		}
		slices.Sort(have)
		slices.Sort(appended)
		if !slices.Equal(have, appended) {
			return fmt.Sprintf("list log holds %d elements, want the %d appended, each once", len(have), len(appended))
		}
	}
	return ""
}
