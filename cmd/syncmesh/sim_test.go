package main

import (
	"strings"
	"testing"
)

// TestSimMoved: "syncmesh sim" points to the separate simulations command.
func TestSimMoved(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "", "sim", "run", "x.yaml")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "go run ./cmd/syncmesh-sim run") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
