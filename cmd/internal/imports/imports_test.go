package imports

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// TestImportDirection parses the imports of every Go file in the module (code
// and tests) and fails naming each import that breaks the rules in allowed.
// It reads the files itself rather than asking go list, so that go test's
// cache notices when a file changes.
func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		from := module
		if rel != "." {
			from = module + "/" + filepath.ToSlash(rel)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			to, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if msg := checkImport(from, to); msg != "" {
				t.Errorf("%s: %s", filepath.Join(rel, name), msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 6 {
		t.Fatalf("found %d Go files under %s; expected the whole module", files, root)
	}
}
