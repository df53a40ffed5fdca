//go:build !linux

package simulations

// adviseHugePages: see HugePages. Only Linux has the advice.
func adviseHugePages(int64) (stop func()) { return func() {} }
