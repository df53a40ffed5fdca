package imports

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/syncmesh/syncmesh"

// allowed lists, for each top-level package of the module, the top-level
// packages of the module it may import. A package may always import its own
// subpackages. cmd and simulations may import every library package; nothing
// may import cmd/..., and only cmd may import simulations/....
var allowed = map[string][]string{
	"clock":       {},
	"draft":       {},
	"crdt":        {"clock", "draft"},
	"mesh":        {"crdt", "clock", "draft"},
	"simulations": {"crdt", "clock", "draft", "mesh"},
	"cmd":         {"crdt", "clock", "draft", "mesh", "simulations"},
}

// top returns the first path element of an import path inside the module, or
// "" for an import from outside it.
func top(importPath string) string {
	if importPath == module {
		return "."
	}
	rest, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}

// checkImport reports why from may not import to, or "" when it may.
func checkImport(from, to string) string {
	fromTop, toTop := top(from), top(to)
	if toTop == "" || toTop == fromTop {
		return ""
	}
	rules, known := allowed[fromTop]
	if !known {
		return fmt.Sprintf("%s is in an unknown top-level folder %q: add it to the import rules", from, fromTop)
	}
	for _, ok := range rules {
		if ok == toTop {
			return ""
		}
	}
	return fmt.Sprintf("%s imports %s: %s may import only %v of this module", from, to, fromTop, rules)
}

func TestCheckImport(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	cases := []struct {
		from, to string
		ok       bool
	}{
		{m("clock"), "time", true},
		{m("clock"), m("draft"), false},
		{m("draft"), m("clock"), false},
		{m("crdt"), m("clock"), true},
		{m("crdt"), m("draft"), true},
		{m("crdt"), m("mesh"), false},
		{m("mesh"), m("crdt"), true},
		{m("mesh/memnet"), m("mesh"), true},
		{m("mesh"), m("cmd/syncmesh"), false},
		{m("mesh"), m("simulations"), false},
		{m("simulations"), m("mesh"), true},
		{m("simulations"), m("cmd/syncmesh"), false},
		{m("cmd/syncmesh"), m("simulations"), true},
		{m("cmd/syncmesh"), m("cmd/internal/imports"), true},
		{m("oddity"), m("clock"), false},
	}
	for _, c := range cases {
		msg := checkImport(c.from, c.to)
		if (msg == "") != c.ok {
			t.Errorf("checkImport(%s, %s) = %q, want allowed=%v", c.from, c.to, msg, c.ok)
		}
	}
}

// TestImportDirection lists every package of the module, with the imports of
// its code and of its tests, and fails naming each import that breaks the
// rules in allowed.
func TestImportDirection(t *testing.T) {
	cmd := exec.Command("go", "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`,
		module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	packages := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		packages++
		from := fields[0]
		for _, to := range fields[1:] {
			if msg := checkImport(from, to); msg != "" {
				t.Error(msg)
			}
		}
	}
	if packages < 6 {
		t.Fatalf("go list found %d packages; expected the whole module", packages)
	}
}
