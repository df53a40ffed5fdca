//go:build !unix

package crdt

import "time"

func cpuTime() time.Duration { return 0 }
