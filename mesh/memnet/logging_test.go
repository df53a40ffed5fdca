package memnet

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

func TestLogger(t *testing.T) {
	var buf meshtest.Buffer
	n := newTestNet(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tr := transports(t, n, "a", "b")
	n.Isolate("b")
	sendSeq(t, tr[0], tr[1], 1)
	out := buf.String()
	for _, want := range []string{
		`msg="node added" component=memnet node=a addr=10.0.0.1:7946`,
		`msg=isolate component=memnet node=b`,
		`msg="packet dropped" component=memnet from=a to=b reason=partition`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
