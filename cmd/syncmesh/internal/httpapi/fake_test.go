package httpapi

import (
	"context"
	"fmt"
	"sync"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// fakeNode is an in-memory Node: a draft state behind a mutex, watchers
// fed synchronously from Update, fixed members and conflicts.
type fakeNode struct {
	mu        sync.Mutex
	state     draft.Value
	watchers  []chan mesh.Event
	conflicts map[string][]crdt.Conflict
	updates   int
	remotes   int
	// failure, when set, makes the node behave like one whose store has
	// failed: Update refuses with mesh.ErrStorage and Status says why.
	failure string
}

var (
	_ Node           = (*fakeNode)(nil)
	_ ConflictReader = (*fakeNode)(nil)
	_ PeerVersions   = (*fakeNode)(nil)
	_ Versioner      = (*fakeNode)(nil)
	_ ReplicaNamer   = (*fakeNode)(nil)
)

// Version advances replica 1 on every update and replica 2 on every remote
// change, so watch events have origins.
func (f *fakeNode) Version() mesh.VersionVector {
	f.mu.Lock()
	defer f.mu.Unlock()
	return mesh.VersionVector{1: uint64(f.updates), 2: uint64(f.remotes)}
}

func (f *fakeNode) ReplicaName(r clock.ReplicaID) string {
	return map[clock.ReplicaID]string{1: "a", 2: "b"}[r]
}

func newFakeNode(jsonState string) *fakeNode {
	v, err := draft.ParseJSON([]byte(jsonState))
	if err != nil {
		panic(err)
	}
	return &fakeNode{state: v, conflicts: map[string][]crdt.Conflict{}}
}

func (f *fakeNode) State() draft.Value {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeNode) Update(ctx context.Context, recipe func(*draft.Draft) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failure != "" {
		return fmt.Errorf("%w: %s", mesh.ErrStorage, f.failure)
	}
	next, patches, _, err := draft.Produce(f.state, recipe)
	if err != nil {
		return err
	}
	f.state = next
	f.updates++
	for _, w := range f.watchers {
		select {
		case w <- mesh.Event{Local: true, Patches: patches}:
		default:
		}
	}
	return nil
}

// remote simulates a change arriving from the mesh.
func (f *fakeNode) remote(patches []draft.Patch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, err := draft.Apply(f.state, patches)
	if err != nil {
		panic(err)
	}
	f.state = next
	f.remotes++
	for _, w := range f.watchers {
		w <- mesh.Event{Patches: patches}
	}
}

func (f *fakeNode) Watch(ctx context.Context) <-chan mesh.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan mesh.Event, 16)
	f.watchers = append(f.watchers, ch)
	return ch
}

func (f *fakeNode) Members() []mesh.Member {
	return []mesh.Member{{Name: "a", Addr: "127.0.0.1:1"}, {Name: "b", Addr: "127.0.0.1:2"}}
}

func (f *fakeNode) Status() mesh.Status {
	return mesh.Status{Name: "a", Members: 2, Version: mesh.VersionVector{1: 3}, Durable: true, Failure: f.failure,
		SentMessages: map[mesh.MsgType]uint64{mesh.TypeChange: 4},
		Rejected:     map[mesh.RejectReason]uint64{mesh.RejectVersion: 1}}
}

func (f *fakeNode) Conflicts(p draft.Path) []crdt.Conflict { return f.conflicts[p.String()] }

func (f *fakeNode) PeerVersions() map[string]mesh.VersionVector {
	return map[string]mesh.VersionVector{"b": {1: 3}, "c": {1: 2}}
}

func conflict(v string, r clock.ReplicaID, wall int64, winner bool) crdt.Conflict {
	return crdt.Conflict{Value: draft.String(v), Replica: r,
		Timestamp: clock.Timestamp{Wall: wall, Replica: r}, Winner: winner}
}
