package clock_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// Two replicas on manual clocks: b's physical clock is 30ms behind a's.
// A message from a lifts b's clock past it, so b's next event sorts after
// a's, although b's physical clock has not reached that time yet.
func Example() {
	pa, pb := clock.NewManual(1_000), clock.NewManual(970)
	a, _ := clock.New(clock.Config{Replica: 0xa, Physical: pa, MaxDrift: 500 * time.Millisecond})
	b, _ := clock.New(clock.Config{Replica: 0xb, Physical: pb, MaxDrift: 500 * time.Millisecond})

	fmt.Println("b local:", b.Now())
	sent := a.Now()
	fmt.Println("a sends:", sent)
	if err := b.Update(sent); err != nil {
		fmt.Println("rejected:", err)
	}
	reply := b.Now()
	fmt.Println("b reply:", reply, "after a's message:", sent.Less(reply))

	pb.Advance(31 * time.Millisecond) // b's physical time passes 1000
	fmt.Println("b later:", b.Now())
	// Output:
	// b local: 0000000003ca.0000.000000000000000b
	// a sends: 0000000003e8.0000.000000000000000a
	// b reply: 0000000003e8.0002.000000000000000b after a's message: true
	// b later: 0000000003e9.0000.000000000000000b
}

// A timestamp more than MaxDrift ahead of physical time is rejected without
// changing the clock, and accepted once physical time has caught up.
func ExampleClock_Update() {
	p := clock.NewManual(10_000)
	c, _ := clock.New(clock.Config{Replica: 1, Physical: p, MaxDrift: 500 * time.Millisecond})

	remote := clock.Timestamp{Wall: 10_501, Replica: 2}
	err := c.Update(remote)
	var drift *clock.DriftError
	fmt.Println(errors.Is(err, clock.ErrDrift), errors.As(err, &drift), drift.Remote.Wall-drift.Physical)
	fmt.Println("unchanged:", c.Last().Wall)

	p.Advance(time.Millisecond)
	fmt.Println("accepted later:", c.Update(remote) == nil, c.Last().Wall)
	// Output:
	// true true 501
	// unchanged: 0
	// accepted later: true 10501
}

// Persist Last and resume from it: a restarted replica whose physical clock is
// now behind still issues later timestamps.
func ExampleConfig_resume() {
	p := clock.NewManual(50_000)
	c, _ := clock.New(clock.Config{Replica: 1, Physical: p, MaxDrift: time.Second})
	c.Now()
	saved := c.Last()

	p.Set(40_000) // the clock was stepped back while we were down
	restarted, _ := clock.New(clock.Config{Replica: 1, Physical: p, MaxDrift: time.Second, Resume: saved})
	next := restarted.Now()
	fmt.Println(saved, next, saved.Less(next))
	// Output:
	// 00000000c350.0000.0000000000000001 00000000c350.0001.0000000000000001 true
}

func ExampleTimestamp_Encode() {
	ts := clock.Timestamp{Wall: 0x0195a3b2c4d5, Logical: 1, Replica: 0xab}
	b := ts.Encode()
	fmt.Printf("% x\n", b)
	back, err := clock.Decode(b[:])
	fmt.Println(back == ts, err)
	// Output:
	// 01 95 a3 b2 c4 d5 00 01 00 00 00 00 00 00 00 ab
	// true <nil>
}
