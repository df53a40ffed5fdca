package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/httpapi"
	"github.com/syncmesh/syncmesh/mesh"
)

// webNode is a cluster node as the HTTP API sees it: in one process the
// demo knows every peer's version vector and which node owns each replica,
// so the dashboard's convergence indicator and change origins are exact.
type webNode struct {
	*mesh.Node
	c *Cluster
}

var (
	_ httpapi.Node           = webNode{}
	_ httpapi.ConflictReader = webNode{}
	_ httpapi.PeerVersions   = webNode{}
	_ httpapi.ReplicaNamer   = webNode{}
	_ httpapi.Versioner      = webNode{}
)

func (w webNode) PeerVersions() map[string]mesh.VersionVector { return w.c.PeerVersions(w.Name()) }

func (w webNode) ReplicaName(r clock.ReplicaID) string { return w.c.NameOf(r) }

// WebServer is node i's HTTP API and dashboard, serving until Close.
type WebServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:8080.
	URL  string
	srv  *http.Server
	stop context.CancelFunc
	done chan struct{}
}

// Serve starts node i's HTTP API and dashboard on addr (host:port; port 0
// picks one). /metrics has node1's mesh metrics (only node1 registers
// them: the nodes share a process) and the server's request counter.
func (c *Cluster) Serve(addr string, i int) (*WebServer, error) {
	reg := prometheus.NewRegistry() // this server's request counter
	gather := prometheus.Gatherers{reg}
	if i == 0 {
		gather = append(gather, c.metrics)
	}
	h, err := httpapi.New(httpapi.Config{Node: webNode{c.Nodes[i], c}, Strategies: c.Strategies,
		Registerer: reg, Gatherer: gather})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: --web %s: %w", addr, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ws := &WebServer{URL: "http://" + ln.Addr().String(), stop: stop, done: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return ctx }}}
	go func() {
		defer close(ws.done)
		if err := ws.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("dashboard server", "err", err)
		}
	}()
	return ws, nil
}

// Close ends open watch streams and stops the server.
func (w *WebServer) Close() error {
	w.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := w.srv.Shutdown(ctx)
	<-w.done
	return err
}
