package demo

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// TestServe checks what the demo's web server adds to the plain API:
// node1's mesh metrics, peers' version vectors and replica names.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := StartCluster(ctx, ClusterConfig{Nodes: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Nodes[0].Update(ctx, func(d *draft.Draft) error { return d.Set(draft.P("x"), draft.Int(1)) }); err != nil {
		t.Fatal(err)
	}
	ws, err := c.Serve("127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	get := func(path string) string {
		resp, err := http.Get(ws.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := get("/metrics"); !strings.Contains(m, `syncmesh_mesh_`) || !strings.Contains(m, `node="node1"`) {
		t.Errorf("metrics lack node1's mesh metrics:\n%.800s", m)
	}
	if s := get("/v1/status"); !strings.Contains(s, `"peers":[{"name":"node2"`) || !strings.Contains(s, `"node1"}`) {
		t.Errorf("status lacks peers or names: %s", s)
	}
}
