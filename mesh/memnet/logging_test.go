package memnet

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a slog
// handler.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogger(t *testing.T) {
	var buf lockedBuffer
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
