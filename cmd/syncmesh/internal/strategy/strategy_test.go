package strategy

import (
	"errors"
	"testing"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

func TestOf(t *testing.T) {
	st := crdt.NewStrategies().
		MustSet("/counters/*", crdt.Count()).
		MustSet("/counters/special", crdt.Maximum()).
		MustSet("/*/name", crdt.Multi()).
		MustSet("/list/*", crdt.Minimum()).
		MustSet("/list/0", crdt.Maximum()).
		MustSet("/a~1b", crdt.Multi())
	state, err := draft.ParseJSON([]byte(`{"counters":{"x":1,"special":2},"list":[1,2],"users":{"name":"a"},"a/b":1}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		kind    crdt.StrategyKind
		pattern string
	}{
		{"/counters/x", crdt.Counter, "/counters/*"},
		{"/counters/special", crdt.Max, "/counters/special"},
		{"/counters", crdt.LastWriterWins, ""},
		{"/users/name", crdt.MultiValue, "/*/name"},
		{"/counters/name", crdt.Counter, "/counters/*"}, // literal first segment wins
		{"/list/0", crdt.Min, "/list/*"},                // list elements match only "*"
		{"/a~1b", crdt.MultiValue, "/a~1b"},
		{"/missing/deep/path", crdt.LastWriterWins, ""},
	}
	for _, tt := range tests {
		kind, pattern := Of(st, state, draft.MustParsePointer(tt.path))
		if kind != tt.kind || pattern != tt.pattern {
			t.Errorf("Of(%s) = %v, %q; want %v, %q", tt.path, kind, pattern, tt.kind, tt.pattern)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		rules    int
		bad      bool
	}{
		{"yaml", "/counters/*: counter\n/highscore: max\n", 2, false},
		{"json", `{"/title": "lww", "/color": "MULTI"}`, 2, false},
		{"empty", "", 0, false},
		{"unknown strategy", "/x: bogus\n", 0, true},
		{"custom", "/x: custom\n", 0, true},
		{"bad pattern", "x: lww\n", 0, true},
		{"not a mapping", "- a\n- b\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Parse([]byte(tt.in))
			if tt.bad {
				if !errors.Is(err, ErrTable) {
					t.Fatalf("Parse = %v, want ErrTable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := st.Rules(); len(p) != tt.rules {
				t.Fatalf("%d rules, want %d", len(p), tt.rules)
			}
		})
	}
}
