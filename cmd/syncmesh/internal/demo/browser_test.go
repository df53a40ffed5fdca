package demo

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/client"
	"github.com/syncmesh/syncmesh/draft"
	"golang.org/x/net/websocket"
)

// TestDashboardInBrowser loads node1's dashboard of a running in-process
// mesh in headless Chromium (driven over the DevTools protocol), checks
// that it shows the members, then changes the state through the HTTP API
// and through another node and checks both changes appear without a
// reload. It saves a screenshot to $SYNCMESH_ARTIFACT_DIR (default
// $TMPDIR/syncmesh-artifacts).
func TestDashboardInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but chromium is not installed (.ci/run installs Debian's chromium): %v", err)
		}
		t.Skip("skipping the browser test: no chromium on PATH (apt-get install chromium; CI=true makes this a failure)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	c, err := StartCluster(ctx, ClusterConfig{Nodes: 3, Seed: 7, Strategies: Strategies()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ws, err := c.Serve("127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	b := startBrowser(ctx, t, chromium)
	defer b.close(t)
	b.call(t, "Page.enable", nil)
	b.call(t, "Page.navigate", map[string]any{"url": ws.URL + "/"})

	b.waitFor(ctx, t, "three members listed and the live stream connected",
		`document.querySelectorAll('#members li').length === 3 &&
		 document.getElementById('stream').textContent.includes('connected') &&
		 document.getElementById('node-name').textContent === 'node1'`)

	// A marker on the window: a reload would drop it.
	b.call(t, "Runtime.evaluate", map[string]any{"expression": "window.notReloaded = true"})

	// A change through node1's HTTP API, and one made on node3 that must
	// arrive over the mesh.
	api, err := client.New(ws.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Patch(ctx, []byte(`[{"op":"add","path":"/greeting","value":"hello from the API"}]`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Nodes[2].Update(ctx, func(d *draft.Draft) error {
		return d.Set(draft.P("fromNode3"), draft.Int(42))
	}); err != nil {
		t.Fatal(err)
	}
	b.waitFor(ctx, t, "both changes in the state tree and the change list, without a reload",
		`document.getElementById('state').textContent.includes('hello from the API') &&
		 document.getElementById('state').textContent.includes('fromNode3') &&
		 document.getElementById('changes').textContent.includes('local on node1') &&
		 document.getElementById('changes').textContent.includes('from node3') &&
		 window.notReloaded === true`)

	shot := b.call(t, "Page.captureScreenshot", map[string]any{"format": "png"})
	var img struct{ Data string }
	if err := json.Unmarshal(shot, &img); err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(img.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	dir := os.Getenv("SYNCMESH_ARTIFACT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "syncmesh-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", path)
}

// browser is a headless Chromium driven over one DevTools page socket.
type browser struct {
	cmd    *exec.Cmd
	conn   *websocket.Conn
	nextID int
	stderr chan struct{}
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

func startBrowser(ctx context.Context, t *testing.T, bin string) *browser {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		"--remote-allow-origins=*", "--window-size=1400,900", "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{cmd: cmd, stderr: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(b.stderr)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-ctx.Done():
		b.close(t)
		t.Fatal("chromium did not print its DevTools address")
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		b.close(t)
		t.Fatal(err)
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	for _, tg := range targets {
		if tg.Type == "page" && b.conn == nil && err == nil {
			b.conn, err = websocket.Dial(tg.WebSocketDebuggerURL, "", "http://127.0.0.1/")
		}
	}
	if err != nil || b.conn == nil {
		b.close(t)
		t.Fatalf("connecting to the page target %v: %v", targets, err)
	}
	return b
}

// call sends one DevTools command and returns its result, skipping the
// events that arrive meanwhile.
func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.nextID++
	id := b.nextID
	if err := websocket.JSON.Send(b.conn, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	_ = b.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var msg struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := websocket.JSON.Receive(b.conn, &msg); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// waitFor polls a JavaScript condition in the page until it is true. The
// page updates itself from Server-Sent Events; polling the DOM is how the
// test observes it, not how it waits for the server.
func (b *browser) waitFor(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		res := b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
		var r struct{ Result struct{ Value any } }
		_ = json.Unmarshal(res, &r)
		if r.Result.Value == true {
			return
		}
		select {
		case <-ctx.Done():
			dom := b.call(t, "Runtime.evaluate", map[string]any{
				"expression": "document.body.innerText", "returnByValue": true})
			t.Fatalf("timed out waiting for %s; page text: %s", what, dom)
		case <-tick.C:
		}
	}
}

func (b *browser) close(t *testing.T) {
	if b.conn != nil {
		b.nextID++
		_ = websocket.JSON.Send(b.conn, map[string]any{"id": b.nextID, "method": "Browser.close"})
		b.conn.Close()
	}
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	<-b.stderr
}
