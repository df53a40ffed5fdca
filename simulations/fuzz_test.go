package simulations

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseScenario: scenario parsing never panics, and an accepted
// scenario survives an encode/parse round trip unchanged.
func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("scenarios/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, false)
		}
	}
	f.Add([]byte(`{"nodes": 3, "faults": [{"kind": "crash", "node": 1, "at": 100}]}`), true)
	f.Add([]byte("nodes: 2\nworkload: {mix: {set: 1}}\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		sc, err := ParseScenario(b, isJSON)
		if err != nil {
			return
		}
		back, err := ParseScenario(sc.Encode(), true)
		if err != nil {
			t.Fatalf("accepted scenario does not re-parse: %v\n%s", err, sc.Encode())
		}
		if string(back.Encode()) != string(sc.Encode()) {
			t.Fatalf("round trip changed the scenario:\n%s\n%s", sc.Encode(), back.Encode())
		}
	})
}
