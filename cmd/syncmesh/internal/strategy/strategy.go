package strategy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"go.yaml.in/yaml/v3"
)

// ErrTable reports a strategy table file that cannot be used.
var ErrTable = errors.New("strategy: bad strategy table")

// Names maps the strategy names a table file may use to strategies.
// Custom merge functions cannot come from a file: they are Go code.
var Names = map[string]func() crdt.Strategy{
	"lww":     crdt.LWW,
	"multi":   crdt.Multi,
	"counter": crdt.Count,
	"max":     crdt.Maximum,
	"min":     crdt.Minimum,
}

// Parse reads a strategy table: a YAML or JSON mapping from patterns (JSON
// Pointers whose segments may be "*") to strategy names (see Names):
//
//	/counters/*: counter
//	/highscore: max
func Parse(data []byte) (*crdt.Strategies, error) {
	var m map[string]string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: want a mapping of pattern: strategy: %v", ErrTable, err)
	}
	st := crdt.NewStrategies()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, pattern := range keys {
		name := m[pattern]
		mk, ok := Names[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("%w: pattern %q: unknown strategy %q (want one of lww, multi, counter, max, min)",
				ErrTable, pattern, name)
		}
		if err := st.Set(pattern, mk()); err != nil {
			return nil, fmt.Errorf("%w: pattern %q: %w", ErrTable, pattern, err)
		}
	}
	return st, nil
}

// Load reads and parses a strategy table file.
func Load(path string) (*crdt.Strategies, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("strategy: %w", err)
	}
	st, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Of applies the strategy table's matching rule to path in state:
// a pattern matches paths of its length whose segments equal its literal
// keys or match its "*" (list elements match only "*"); among matches the
// one with a literal at the first position where they differ wins.
func Of(st *crdt.Strategies, state draft.Value, path draft.Path) (crdt.StrategyKind, string) {
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
