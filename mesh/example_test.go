package mesh_test

import (
	"context"
	"fmt"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// Three nodes in one process on 127.0.0.1: one writes, the others read.
func Example() {
	ctx := context.Background()
	var nodes []*mesh.Node
	for i, name := range []string{"alpha", "beta", "gamma"} {
		cfg := mesh.LocalConfig() // 127.0.0.1, a free port
		cfg.Name = name
		cfg.Replica = clock.ReplicaID(i + 1)
		n, err := mesh.New(cfg)
		if err != nil {
			panic(err)
		}
		if err := n.Start(ctx); err != nil {
			panic(err)
		}
		defer n.Close()
		if i > 0 {
			if _, err := n.Join(ctx, []string{nodes[0].Addr()}); err != nil {
				panic(err)
			}
		}
		nodes = append(nodes, n)
	}

	// Watch the readers, then write on alpha.
	var watches []<-chan mesh.Event
	for _, n := range nodes[1:] {
		watches = append(watches, n.Watch(ctx))
	}
	err := nodes[0].Update(ctx, func(d *draft.Draft) error {
		return d.Root().Set("greeting", draft.String("hello"))
	})
	if err != nil {
		panic(err)
	}
	for i, w := range watches {
		select {
		case <-w:
		case <-time.After(10 * time.Second):
			fmt.Println("timed out waiting for", nodes[i+1].Name())
		}
	}
	for _, n := range nodes[1:] {
		v, _ := n.State().Get("greeting")
		s, _ := v.AsString()
		fmt.Println(n.Name(), "reads", s)
	}
	// Output:
	// beta reads hello
	// gamma reads hello
}
