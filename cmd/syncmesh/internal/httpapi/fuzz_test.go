package httpapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// FuzzPatch sends arbitrary bodies to PATCH /v1/state: the handler never
// panics, answers 204 or a problem with a documented status, and a refused
// patch leaves the state unchanged.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"add","path":"/a","value":1}]`,
		`[{"op":"test","path":"/n","value":1},{"op":"remove","path":"/n"}]`,
		`[{"op":"move","from":"/todos/0","path":"/todos/-"}]`,
		`[{"op":"copy","from":"/title","path":"/t2"}]`,
		`[{"op":"replace","path":"/todos/0/text","value":{"x":[1,2.5,null,true]}}]`,
		`[{"op":"add","path":"/n","value":2,"delta":1}]`,
		`{}`, `[`, `[{"op":1}]`, ``,
	} {
		f.Add(s)
	}
	allowed := map[int]bool{204: true, 400: true, 404: true, 409: true, 413: true, 422: true}
	f.Fuzz(func(t *testing.T, body string) {
		// A real (unstarted) mesh node, so patches go through crdt.
		cfg := mesh.LocalConfig()
		cfg.Name = "fuzz"
		node, err := mesh.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer node.Close()
		seed, _ := draft.ParseJSON([]byte(testState))
		if err := node.Update(context.Background(), func(d *draft.Draft) error {
			for k, v := range seed.Range() {
				if err := d.Set(draft.P(k), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		h, err := New(Config{Node: node, MaxBodyBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		before := node.State()
		r := httptest.NewRequest("PATCH", "/v1/state", strings.NewReader(body))
		r.Header.Set("Content-Type", PatchContentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !allowed[w.Code] {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if w.Code != 204 {
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("status %d with Content-Type %q", w.Code, ct)
			}
			if !node.State().Equal(before) {
				t.Fatalf("refused patch %q changed the state to %s", body, node.State())
			}
		}
	})
}
