package crdtdoc

import (
	"strconv"
	"strings"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// Node is a mesh node serving a crdt document: a *mesh.Node plus the
// document reads mesh does not expose yet (Conflicts, the strategy of a
// path). It is safe for concurrent use.
type Node struct {
	*mesh.Node
	doc *Doc
}

// NewNode builds the document from dcfg and a mesh node serving it from
// mcfg (whose Document field is overwritten).
func NewNode(mcfg mesh.Config, dcfg Config) (*Node, error) {
	doc, err := New(dcfg)
	if err != nil {
		return nil, err
	}
	mcfg.Document = doc
	n, err := mesh.New(mcfg)
	if err != nil {
		return nil, err
	}
	return &Node{Node: n, doc: doc}, nil
}

// Doc returns the node's document.
func (n *Node) Doc() *Doc { return n.doc }

// Conflicts returns the concurrent values at path (nil when none).
func (n *Node) Conflicts(path draft.Path) []crdt.Conflict { return n.doc.Conflicts(path) }

// StrategyOf returns the strategy that resolves conflicts at path, by the
// table's rule (the most specific matching pattern; last-writer-wins when
// none matches), and the pattern that chose it ("" for the default).
func (n *Node) StrategyOf(path draft.Path) (crdt.StrategyKind, string) {
	return StrategyOf(n.doc.Strategies(), n.doc.State(), path)
}

// StrategyOf applies the strategy table's matching rule to path in state:
// a pattern matches paths of its length whose segments equal its literal
// keys or match its "*" (list elements match only "*"); among matches the
// one with a literal at the first position where they differ wins.
func StrategyOf(st *crdt.Strategies, state draft.Value, path draft.Path) (crdt.StrategyKind, string) {
	inList := make([]bool, len(path))
	v := state
	for i, seg := range path {
		inList[i] = v.Kind() == draft.ListKind
		var ok bool
		if inList[i] {
			if idx, err := strconv.Atoi(seg.Token()); err == nil {
				v, ok = v.Index(idx)
			}
		} else {
			v, ok = v.Get(seg.Token())
		}
		if !ok {
			v = draft.Value{}
		}
	}
	patterns, strategies := st.Rules()
	best := -1
	var bestSegs []string
	for i, p := range patterns {
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		if p == "" {
			segs = nil
		}
		if len(segs) != len(path) || !matches(segs, path, inList) {
			continue
		}
		if best < 0 || moreSpecific(segs, bestSegs) {
			best, bestSegs = i, segs
		}
	}
	if best < 0 {
		return crdt.LastWriterWins, ""
	}
	return strategies[best].Kind, patterns[best]
}

func matches(segs []string, path draft.Path, inList []bool) bool {
	for i, s := range segs {
		if s == "*" {
			continue
		}
		if inList[i] || unescape(s) != path[i].Token() {
			return false
		}
	}
	return true
}

func moreSpecific(a, b []string) bool {
	for i := range a {
		if (a[i] == "*") != (b[i] == "*") {
			return b[i] == "*"
		}
	}
	return false
}

func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}
