// Package clock implements hybrid logical clocks (HLC), after Kulkarni,
// Demirbas, Madeppa, Avva and Leone, "Logical Physical Clocks" (OPODIS 2014).
//
// A Timestamp is physical milliseconds (Wall), a logical counter (Logical)
// and the issuing replica (Replica). Timestamps are totally ordered by
// (Wall, Logical, Replica), and that order respects causality: if event e
// happened before event f (in Lamport's sense, through Now and Update), e's
// timestamp is less than f's. Wall stays close to physical time, so
// timestamps also read as times.
//
// A Clock issues timestamps for one replica. Now stamps a local or send
// event; Update folds in a timestamp received from another replica; Check
// asks whether Update would accept one; Last is the state to persist and to
// pass back as Config.Resume after a restart.
//
// # Invariants
//
// For a Clock c with replica r, physical clock P and maximum drift D (in
// whole milliseconds), these hold for every sequence of calls, from any
// number of goroutines:
//
//  1. Strict monotonicity: every timestamp returned by c.Now is greater than
//     every timestamp c.Now returned before it, than Config.Resume, and than
//     every remote timestamp accepted by c.Update before the call began. This
//     holds when P jumps backwards and when Logical overflows.
//  2. Causality: if a remote timestamp was accepted by c.Update, every later
//     c.Now is greater than it. Together with 1, causally later events get
//     larger timestamps.
//  3. Physical lower bound: c.Now().Wall >= the value P reported during the
//     call (clamped to [0, MaxWall]).
//  4. Bounded drift: c.Update accepts a remote from another replica only if
//     remote.Wall - P.NowMillis() <= D, so a remote exactly D ahead is
//     accepted and D+1 is rejected. Drift is measured against physical time,
//     never against the clock's own state, so accepted remotes cannot
//     ratchet the clock further ahead. While P does not go backwards and
//     Config.Resume is not ahead of it, c's Wall exceeds P by at most D, plus
//     1 ms for each 65,536 timestamps issued in one millisecond (invariant 6).
//  5. No poisoning: an Update or Check that returns an error leaves c exactly
//     as it was. A Check never changes c. A rejected remote is accepted later
//     once P has caught up.
//  6. No wrap: when Logical would pass 65535 the clock moves to Wall+1,
//     Logical 0. Timestamps never repeat; Now panics only if Wall reaches
//     MaxWall (the year 10889) and its 65536 counter values are used up.
//  7. Replica collision: a remote with c's own Replica that is <= c.Last() is
//     an echo and accepted, whatever its drift (it cannot move c's Wall); one
//     > c.Last() cannot have been issued by c and is rejected with
//     ErrReplicaCollision, before the drift check.
//  8. Uniqueness: timestamps from Clocks with distinct replica ids never
//     compare equal; those from one Clock never repeat (invariant 1).
//  9. Encoding: bytes.Compare(a.Encode(), b.Encode()) == a.Compare(b) and
//     strings.Compare(a.String(), b.String()) == a.Compare(b) for valid a, b;
//     Decode(Encode(t)) == t, Parse(t.String()) == t, and every 16-byte input
//     to Decode and every string Parse accepts round-trips byte for byte.
//     Decoders return ErrMalformed and never panic on bad input.
//  10. Now does not allocate. System is the only code in the package that
//     reads wall time; the package starts no goroutines and holds no
//     package-level mutable state.
//
// # Usage
//
//	c, err := clock.New(clock.DefaultConfig(replica))
//	if err != nil { ... }
//	op.Stamp = c.Now()               // local change or send
//	if err := c.Update(msg.Stamp); err != nil {
//		// quarantine msg: errors.Is(err, clock.ErrDrift), ...
//	}
//	persist(c.Last())                // and on restart: cfg.Resume = loaded
//
// Timestamps travel as Encode's 16 bytes (order-preserving) or as the fixed
// width text of String, never as time.Time. See docs/clock.md for the
// algorithm, the encoding and the drift rule.
package clock
