package clock_test

import (
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

func benchClock(b *testing.B, p clock.Physical) *clock.Clock {
	c, err := clock.New(clock.Config{Replica: self, Physical: p, MaxDrift: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

var sink clock.Timestamp

// benchPhysicals are the physical clocks Now is measured with: the system
// clock (the production cost, time.Now included) and a manual clock (the HLC
// alone).
func benchPhysicals() []struct {
	name string
	p    clock.Physical
} {
	return []struct {
		name string
		p    clock.Physical
	}{{"system", clock.System()}, {"manual", clock.NewManual(1_700_000_000_000)}}
}

// BenchmarkNow measures Now on one goroutine.
func BenchmarkNow(b *testing.B) {
	for _, p := range benchPhysicals() {
		b.Run(p.name, func(b *testing.B) {
			c := benchClock(b, p.p)
			b.ReportAllocs()
			for b.Loop() {
				sink = c.Now()
			}
		})
	}
}

// BenchmarkNowParallel measures Now from GOMAXPROCS goroutines sharing one
// Clock: the cost of contention on its state word.
func BenchmarkNowParallel(b *testing.B) {
	for _, p := range benchPhysicals() {
		b.Run(p.name, func(b *testing.B) {
			c := benchClock(b, p.p)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var last clock.Timestamp
				for pb.Next() {
					last = c.Now()
				}
				_ = last
			})
		})
	}
}

// BenchmarkUpdate measures accepting a remote timestamp from another replica.
func BenchmarkUpdate(b *testing.B) {
	c := benchClock(b, clock.System())
	remote := clock.Timestamp{Wall: clock.System().NowMillis(), Logical: 3, Replica: other}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Update(remote); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	ts := clock.Timestamp{Wall: 1_795_564_800_123, Logical: 42, Replica: 0x0123456789abcdef}
	buf := make([]byte, 0, clock.EncodedLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = ts.AppendEncode(buf[:0])
		var err error
		if sink, err = clock.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringParse(b *testing.B) {
	ts := clock.Timestamp{Wall: 1_795_564_800_123, Logical: 42, Replica: 0x0123456789abcdef}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if sink, err = clock.Parse(ts.String()); err != nil {
			b.Fatal(err)
		}
	}
}
