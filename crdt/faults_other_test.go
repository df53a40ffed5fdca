//go:build !unix

package crdt

func minorFaults() int64 { return 0 }
