package memnet_test

import (
	"fmt"
	"io"
	"log"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/syncmesh/syncmesh/mesh/memnet"
)

// Two nodes exchange packets while one direction is blocked.
func Example() {
	n, err := memnet.New(memnet.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer n.Close()
	a, _ := n.NewTransport("a")
	b, _ := n.NewTransport("b")
	fmt.Println("a is", a.Addr(), "b is", b.Addr())

	_, _ = a.WriteTo([]byte("hello"), b.Addr())
	p := <-b.PacketCh()
	fmt.Printf("b got %q from %s\n", p.Buf, p.From)

	n.Block("a", "b")
	_, _ = a.WriteTo([]byte("lost"), b.Addr())
	_, err = b.DialTimeout(a.Addr(), time.Second)
	fmt.Println("dial:", err)

	st := n.Stats().Nodes["a"]
	fmt.Println("a sent", st.PacketsSent, "delivered", st.PacketsDelivered, "partitioned", st.Dropped.Partition)
	// Output:
	// a is 10.0.0.1:7946 b is 10.0.0.2:7946
	// b got "hello" from 10.0.0.1:7946
	// dial: memnet: dial 10.0.0.1:7946 from b: partitioned
	// a sent 2 delivered 1 partitioned 1
}

// Three real memberlist nodes form a cluster over memnet.
func Example_memberlist() {
	n, err := memnet.New(memnet.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer n.Close()
	var nodes []*memberlist.Memberlist
	for _, name := range []string{"a", "b", "c"} {
		tr, err := n.NewTransport(name)
		if err != nil {
			panic(err)
		}
		cfg := memberlist.DefaultLocalConfig()
		cfg.Name = name
		cfg.Transport = tr
		cfg.Logger = log.New(io.Discard, "", 0)
		m, err := memberlist.Create(cfg)
		if err != nil {
			panic(err)
		}
		defer m.Shutdown()
		nodes = append(nodes, m)
	}
	first, _ := n.Addr("a")
	for _, m := range nodes[1:] {
		if _, err := m.Join([]string{first}); err != nil {
			panic(err)
		}
	}
	// memberlist gossips on wall-clock timers: poll until everyone agrees.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if nodes[0].NumMembers() == 3 && nodes[1].NumMembers() == 3 && nodes[2].NumMembers() == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range nodes {
		fmt.Println(m.LocalNode().Name, "sees", m.NumMembers(), "members")
	}
	// Output:
	// a sees 3 members
	// b sees 3 members
	// c sees 3 members
}
