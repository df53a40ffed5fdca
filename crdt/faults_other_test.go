//go:build !unix

package crdt

import "time"

func minorFaults() int64 { return 0 }

func processCPU() time.Duration { return 0 }
