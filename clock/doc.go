// Package clock implements hybrid logical clocks (HLC).
//
// This package is being built; see docs/clock.md for the design.
package clock
