package memnet_test

import (
	"fmt"
	"time"

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
