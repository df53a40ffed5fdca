package simulations

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarios runs every shipped scenario except the big ones (set
// SIM_BIG=1 to include them) and checks they hold every invariant.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if strings.HasPrefix(name, "scale-") && os.Getenv("SIM_BIG") == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(run(t, sc).Summary())
		})
	}
}
