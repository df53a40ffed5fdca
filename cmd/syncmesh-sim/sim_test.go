package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSimCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &env{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestSimCommand(t *testing.T) {
	baseline := filepath.Join("..", "..", "simulations", "scenarios", "baseline.yaml")
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		inOut    string
		inStderr string
	}{
		{"run prints markdown", []string{"run", baseline, "--seed", "2"}, 0, "| convergence after a write |", "invariants ok"},
		{"run writes a report", []string{"run", "--out", dir, baseline}, 0, "report written", "baseline seed=1"},
		{"campaign", []string{"campaign", "--seeds", "3", "--out", dir}, 0, "", "3 runs, 0 failed"},
		{"missing file", []string{"run"}, 2, "", "missing scenario file"},
		{"bad file", []string{"run", filepath.Join(dir, "nope.yaml")}, 1, "", "no such file"},
		{"unknown subcommand", []string{"fly"}, 2, "", "unknown sim subcommand"},
		{"no subcommand", nil, 2, "", "usage: syncmesh-sim run|campaign|compare"},
		{"help", []string{"--help"}, 0, "", "usage: syncmesh-sim run|campaign|compare"},
		{"run help", []string{"run", "--help"}, 0, "", "usage: syncmesh-sim run FILE"},
		{"bad flag", []string{"campaign", "--seeds", "x"}, 2, "", `invalid value "x" for flag -seeds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runSimCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inOut) || !strings.Contains(errs, tt.inStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
		})
	}
	for _, f := range []string{"report.json", "report.md", "share.png", "bytes.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run --out did not write %s: %v", f, err)
		}
	}
	// The command ran several times in this process: it must not cost its
	// heap reserve each time. A later huge-page reserve was allocated from
	// the first's room, which the runtime zeroes, and this test reached
	// 6-12 GB resident (a CI race run was killed for memory); it needs
	// tens of MB.
	if rss, ok := peakResidentBytes(); ok && rss > 1<<30 {
		t.Errorf("peak resident memory %d MiB over the commands, want under 1,024 MiB", rss>>20)
	}
}
