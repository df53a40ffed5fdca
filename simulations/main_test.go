package simulations

import (
	"os"
	"testing"

	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

// TestMain fails the package if a test leaves a goroutine behind. Engine 2
// (compare_test.go) starts real memberlist nodes, so leftovers get time for
// memberlist's probe timers to end.
func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }
