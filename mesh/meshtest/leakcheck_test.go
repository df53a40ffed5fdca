package meshtest

import (
	"testing"
	"time"
)

func TestMainReportsLeakAfterGrace(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	code := main(func() int {
		go func() { <-stop }() // outlives the grace period
		return 0
	}, 200*time.Millisecond)
	if code != 1 {
		t.Fatalf("a goroutine still running after the grace period gave exit code %d, want 1", code)
	}
}

func TestMainWaitsForGoroutinesThatEnd(t *testing.T) {
	code := main(func() int {
		timer := time.NewTimer(300 * time.Millisecond)
		go func() { <-timer.C }() // like memberlist's probe timer after Shutdown
		return 0
	}, 3*time.Second)
	if code != 0 {
		t.Fatalf("a goroutine that ends within the grace period gave exit code %d, want 0", code)
	}
}

func TestMainKeepsFailingCode(t *testing.T) {
	if code := main(func() int { return 3 }, time.Second); code != 3 {
		t.Fatalf("failing tests' exit code became %d, want 3", code)
	}
}
