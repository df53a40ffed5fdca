package clock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlySystemReadsWallTime enforces that physical.go (System) is the only
// non-test file of the package that reads wall time or starts timers, and
// that no non-test file starts a goroutine or imports testing.
func TestOnlySystemReadsWallTime(t *testing.T) {
	banned := map[string]bool{"Now": true, "Since": true, "Until": true, "Tick": true,
		"After": true, "AfterFunc": true, "NewTimer": true, "NewTicker": true, "Sleep": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"testing"` {
				t.Errorf("%s imports testing", name)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement in the clock package", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && banned[n.Sel.Name] && name != "physical.go" {
					t.Errorf("%s: time.%s outside physical.go", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
}
