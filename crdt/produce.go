package crdt

import (
	"fmt"

	"github.com/syncmesh/syncmesh/draft"
)

// This file is the local entry points: a recipe or a patch list is run
// against the materialised state with draft, and its patches are committed
// as one change (local.go turns them into operations).
//
// The state has one owner, the Doc (d.owner): recipes and patch lists run
// through draft's owned mode, which changes the nodes of the state that
// earlier owned operations made in place instead of copying the path of
// every write. State freezes the owner before it hands the state out, so
// a Value a caller holds never changes. A change that commitLocal refuses
// after the produce is reverted (draft.Owner.Revert), so a refused recipe
// changes nothing, as before.

// Update runs recipe on a draft of the state, turns its patches into one
// change, applies it locally and returns it for sending (nil if the recipe
// changed nothing). If the recipe fails, nothing changes. The recipe may
// read State (it sees the state before the recipe) but may not change the
// Doc: Update, UpdatePatches and Apply called from inside it return an
// error wrapping draft.ErrOwnerBusy.
func (d *Doc) Update(recipe func(*draft.Draft) error) (*Change, error) {
	if d.owner.Busy() {
		return nil, errInRecipe("Update")
	}
	// The patches go into d.upd, not fresh room: nobody sees them but
	// commitLocal.
	next, patches, err := draft.ProduceForwardOwnedAppend(d.upd[:0], d.current(), &d.owner, recipe)
	if cap(patches) <= maxUpdRoom && cap(patches) > cap(d.upd) {
		d.upd = patches[:0]
	}
	if err != nil {
		return nil, err
	}
	return d.commitProduced(next, patches)
}

// maxUpdRoom is the most patches whose room Update keeps between calls
// (112 bytes each).
const maxUpdRoom = 16

// Produce is Update that also returns the recipe's patches (what changed in
// State, for watchers), so a caller needs neither a second Produce nor
// UpdatePatches' re-application.
func (d *Doc) Produce(recipe func(*draft.Draft) error) (*Change, []draft.Patch, error) {
	if d.owner.Busy() {
		return nil, nil, errInRecipe("Update")
	}
	next, patches, err := draft.ProduceForwardOwned(d.current(), &d.owner, recipe)
	if err != nil {
		return nil, nil, err
	}
	c, err := d.commitProduced(next, patches)
	if err != nil || len(patches) == 0 {
		return nil, nil, err
	}
	return c, patches, nil
}

// commitProduced commits a produce's patches as one change (nil if there
// are none); if commitLocal refuses them, the produce is reverted.
func (d *Doc) commitProduced(next draft.Value, patches []draft.Patch) (*Change, error) {
	if len(patches) == 0 {
		return nil, nil
	}
	c, err := d.commitLocal(next, patches)
	if err != nil {
		d.owner.Revert() // the state is what it was before the recipe
		return nil, err
	}
	return c, nil
}

// UpdatePatches applies RFC 6902 patches (as from draft or a JSON Patch
// document) to the state, turns them into one change, applies it locally and
// returns it for sending. It is atomic: patches that do not apply to the
// state (strictly, as draft.Apply checks them) change nothing.
func (d *Doc) UpdatePatches(patches []draft.Patch) (*Change, error) {
	if d.owner.Busy() {
		return nil, errInRecipe("UpdatePatches")
	}
	next, err := draft.ApplyOwned(d.current(), &d.owner, patches)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPath, err)
	}
	if len(patches) == 0 {
		return nil, nil
	}
	c, err := d.commitLocal(next, patches)
	if err != nil {
		d.owner.Revert()
	}
	return c, err
}

// errInRecipe is the error of a Doc method that would change the Doc from
// inside an Update recipe, while the recipe's draft changes the state in
// place.
func errInRecipe(method string) error {
	return fmt.Errorf("crdt: %s inside an Update recipe: %w", method, draft.ErrOwnerBusy)
}
