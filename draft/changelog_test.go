package draft

import (
	"reflect"
	"strconv"
	"testing"
)

// TestPathIndexCollisions drives the log's path index with every entry
// forced onto one hash, so lookups must tell paths apart by comparing
// them, skip killed entries, and keep working across table growth.
func TestPathIndexCollisions(t *testing.T) {
	var c changeLog
	const h = 0xdeadbeef12345678
	const n = 100 // enough to grow the table from 16 slots several times
	for j := range n {
		e := c.grow()
		*e = newEntry(opAdd, Path{Key("k" + strconv.Itoa(j))}, Value{}, Value{})
		e.hash, e.flags = h, fIndexed
		c.live++
		c.epochLive++
		if c.idx.built() {
			c.index(j)
		} else {
			c.idx.rebuild(&c, c.epochLive)
		}
	}
	for j := range n {
		if j%3 == 0 {
			c.kill(j)
		}
	}
	for j := range n {
		got, ok := c.lookup(h, Path{Key("k" + strconv.Itoa(j))})
		if want := j%3 != 0; ok != want || (ok && got != j) {
			t.Fatalf("lookup k%d = %d, %v; want %d, %v", j, got, ok, j, want)
		}
	}
	if _, ok := c.lookup(h, Path{Key("absent")}); ok {
		t.Fatal("lookup of an absent path with a colliding hash succeeded")
	}
	if _, ok := c.lookup(h^1, Path{Key("k1")}); ok {
		t.Fatal("lookup with a different hash succeeded")
	}
}

// TestProducePathsDoNotAlias checks that patch paths carved from a
// draft's shared chunks have no spare capacity: appending to one, as a
// caller may, must not overwrite another patch's path.
func TestProducePathsDoNotAlias(t *testing.T) {
	base := MapOf(map[string]Value{"m": MapOf(map[string]Value{"a": Int(1)}), "l": ListOf(Int(1))})
	_, fwd, inv, err := Produce(base, func(d *Draft) error {
		m := d.Map("m")
		for i := range 40 {
			_ = m.Map("n" + strconv.Itoa(i%3)).Len() // a sub-draft path between patch paths
			if err := m.Set("k"+strconv.Itoa(i), Int(int64(i))); err != nil {
				return err
			}
		}
		if err := d.List("l").Insert(0, Int(0)); err != nil {
			return err
		}
		return d.List("l").Move(0, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range append(fwd, inv...) {
		want = append(want, p.Path.String()+" "+p.From.String())
	}
	for _, p := range append(fwd, inv...) {
		if cap(p.Path) != len(p.Path) || cap(p.From) != len(p.From) {
			t.Fatalf("patch %v: path has spare capacity", p)
		}
		_ = append(p.Path, Key("x"))
		_ = append(p.From, Key("y"))
	}
	for i, p := range append(fwd, inv...) {
		if got := p.Path.String() + " " + p.From.String(); got != want[i] {
			t.Fatalf("patch %d path changed by an append to another: %q, was %q", i, got, want[i])
		}
	}
}

// TestChangeLogResetClearsAll: reset writes its fields one by one (to
// spare write barriers); whatever a log held, a reset one must equal a
// fresh log but for the room it keeps.
func TestChangeLogResetClearsAll(t *testing.T) {
	var c changeLog
	c.scanLimit = 0
	for i := range 3 * chunkSize {
		p := Path{Key("k"), Index(i)}
		c.write(p, i%2 == 0, Int(1), true, Int(2), Value{})
		if i%50 == 0 {
			c.structural(-1, newEntry(opAdd, p, Int(3), Value{}))
		}
		c.markRefresh(c.n - 1)
	}
	c.collided, c.removes = true, true
	c.reset()
	want := changeLog{head: c.head, pendingAt: c.pendingAt}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("reset left %+v", c)
	}
	for _, e := range c.head[:cap(c.head)] {
		if e != (entry{}) {
			t.Fatal("reset left an entry in head's room")
		}
	}
}
