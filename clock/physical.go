package clock

import (
	"sync/atomic"
	"time"
)

// Physical is the source of physical time for a Clock.
//
// NowMillis returns the current physical time in milliseconds since the Unix
// epoch. It must be safe for concurrent use and must not block for long: a
// Clock calls it on every Now, Update and Check. It need not be monotonic;
// the Clock stays strictly monotonic when physical time jumps backwards.
// Values outside [0, MaxWall] are clamped into that range by the Clock.
type Physical interface {
	NowMillis() int64
}

// systemPhysical reads the operating system's wall clock.
type systemPhysical struct{}

var _ Physical = systemPhysical{}

// NowMillis implements Physical with time.Now.
func (systemPhysical) NowMillis() int64 { return time.Now().UnixMilli() }

// System returns the Physical that reads the operating system's wall clock.
// It is the only code in this package that reads wall time. It is safe for
// concurrent use.
func System() Physical { return systemPhysical{} }

// Manual is a Physical whose time moves only when told to: for tests and
// simulations. The zero Manual reads 0 (the Unix epoch). A Manual is safe for
// concurrent use; it must not be copied after first use.
type Manual struct {
	ms atomic.Int64
}

var _ Physical = (*Manual)(nil)

// NewManual returns a Manual reading ms milliseconds since the Unix epoch.
func NewManual(ms int64) *Manual {
	m := new(Manual)
	m.ms.Store(ms)
	return m
}

// NowMillis implements Physical.
func (m *Manual) NowMillis() int64 { return m.ms.Load() }

// Set moves the time to ms milliseconds since the Unix epoch, forwards or
// backwards.
func (m *Manual) Set(ms int64) { m.ms.Store(ms) }

// Advance moves the time by d, truncated towards zero to whole milliseconds.
// A negative d moves it backwards.
func (m *Manual) Advance(d time.Duration) { m.ms.Add(d.Milliseconds()) }
