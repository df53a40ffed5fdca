package draft

import (
	"errors"
	"testing"
	"unsafe"
)

// TestOwnedStaleDrafts: Drafts and tokens come from the owner's slabs,
// but each is used once (the session behind the Drafts is reused). A
// Draft (or sub-draft) kept from an earlier owned produce, whether it
// committed, failed or panicked, answers ErrFinished, also while a later
// produce of the same owner runs, and changes nothing there.
func TestOwnedStaleDrafts(t *testing.T) {
	var o Owner
	state := MapOf(map[string]Value{"n": Int(0)})
	var stale []*Draft
	var subs []*MapDraft
	tokens := map[*edit]bool{}
	for i := range 3*draftSlab + 1 {
		next, _, err := ProduceForwardOwned(state, &o, func(d *Draft) error {
			stale = append(stale, d)
			subs = append(subs, d.Root())
			if tokens[d.s.ed] {
				t.Fatalf("produce %d reuses a token", i)
			}
			tokens[d.s.ed] = true
			subs = append(subs, d.Root().Map("deeper"))
			if i%5 == 3 {
				return errRecipe
			}
			return d.Root().Set("n", Int(int64(i+1)))
		})
		if i%5 == 3 {
			if !errors.Is(err, errRecipe) {
				t.Fatalf("produce %d: %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		state = next
	}
	func() {
		defer func() { _ = recover() }()
		_, _, _ = ProduceForwardOwned(state, &o, func(d *Draft) error {
			stale = append(stale, d)
			subs = append(subs, d.Root(), d.Root())
			panic("recipe panics")
		})
	}()
	next, patches, err := ProduceForwardOwned(state, &o, func(d *Draft) error {
		for i, old := range stale {
			if old == d {
				t.Fatalf("draft %d is reused", i)
			}
			if err := old.Set(Path{Key("stale")}, Int(1)); !errors.Is(err, ErrFinished) {
				t.Fatalf("stale draft %d: %v", i, err)
			}
			for _, sub := range subs[2*i : 2*i+2] {
				if err := sub.Set("stale", Int(1)); !errors.Is(err, ErrFinished) {
					t.Fatalf("stale sub-draft of draft %d: %v", i, err)
				}
			}
			if v := old.Original(); v.IsValid() {
				t.Fatalf("stale draft %d: Original %s", i, v)
			}
		}
		return d.Root().Set("n", Int(-1))
	})
	if err != nil || len(patches) != 1 || next.String() != `{"n":-1}` {
		t.Fatalf("after stale drafts: %v %v %s", err, patches, next.String())
	}
}

// TestOwnerSlabSizes: the owner's slabs stay within 512 bytes, the largest
// objects the runtime allocates without a malloc header (see tokenSlab).
func TestOwnerSlabSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		size uintptr
	}{
		{"drafts", draftSlab * unsafe.Sizeof(Draft{})},
		{"tokens", tokenSlab * unsafe.Sizeof(edit{})},
		{"patches", patchSlab * unsafe.Sizeof(Patch{})},
	} {
		if c.size > 512 {
			t.Errorf("%s slab is %d bytes, over 512", c.name, c.size)
		}
	}
}
