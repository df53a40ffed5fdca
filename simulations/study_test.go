package simulations

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestStudy regenerates the convergence-vs-N table and chart of
// docs/simulations.md when SIM_STUDY_OUT names a directory (it takes
// minutes: N up to 10,000). SIM_STUDY_MAXN caps N.
func TestStudy(t *testing.T) {
	dir := os.Getenv("SIM_STUDY_OUT")
	if dir == "" {
		t.Skip("set SIM_STUDY_OUT=dir to run the study")
	}
	defer TuneGC()()
	ns := []int{10, 100, 1000, 10000}
	if os.Getenv("SIM_STUDY_MAXN") == "1000" {
		ns = ns[:3]
	}
	pts, err := RunStudy(ns, []float64{0, 0.3}, 100, func(r *Report) { t.Log(r.Summary()) })
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(pts, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "study.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "study.md"), []byte(StudyMarkdown(pts)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ScaleChart(filepath.Join(dir, "scale.png"), pts, 3, 200); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + StudyMarkdown(pts))
}
