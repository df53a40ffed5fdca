package main

import (
	"os"
	"testing"

	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

// TestMain fails the package if a test leaves a goroutine behind (compare
// starts real memberlist nodes).
func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }
