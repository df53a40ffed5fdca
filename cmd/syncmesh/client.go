package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/client"
)

// defaultAddr is the node HTTP address client commands use without --addr
// or $SYNCMESH_ADDR; it is syncmesh node's default --http.
const defaultAddr = "http://127.0.0.1:7947"

var clientAbout = map[string]string{
	"get": `Print the node's whole state, or the value at a JSON Pointer (RFC 6901),
as indented JSON. Example: syncmesh get /todos/0`,
	"set": `Write a JSON value at a JSON Pointer (an RFC 6902 "add": creates or
replaces a map member; inserts into a list at an index; "/list/-" appends).
Example: syncmesh set /title '"Weekend trip"'`,
	"delete": `Remove the value at a JSON Pointer (an RFC 6902 "remove").
Example: syncmesh delete /todos/0`,
	"patch": `Apply an RFC 6902 JSON Patch document (a JSON array of operations, read
from a file or from standard input with "-") as one atomic update. A "test"
operation that fails rejects the whole patch (exit status 1, HTTP 409).`,
	"watch": `Print each change the node applies, local or from the mesh, as one JSON
line, until interrupted. With --state, print the current state first.`,
	"members": `List the live members of the mesh as the node sees them.`,
	"status":  `Print the node's status: version vector, queue depths, message counters.`,
	"conflicts": `List the concurrent values at a JSON Pointer and which one wins, or with no
pointer every conflicted path in the state.`,
}

// clientCmd runs one client command against a node's HTTP API.
func clientCmd(ctx context.Context, e *env, name string, args []string) error {
	var spec string
	for _, c := range commands {
		if c.name == name {
			spec = c.args
		}
	}
	fs := newFlags(e, name, "[flags] "+spec, clientAbout[name])
	addr := fs.String("addr", "", "node HTTP address (default $SYNCMESH_ADDR, else "+defaultAddr+")")
	tokenFile := fs.String("token-file", "", "file holding the bearer token for writes (default $SYNCMESH_TOKEN)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on a request after this long (not for watch)")
	withState := false
	if name == "watch" {
		fs.BoolVar(&withState, "state", false, "print the current state before the changes")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := newClient(e, *addr, *tokenFile)
	if err != nil {
		return err
	}
	if name != "watch" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	pos := fs.Args()
	want := func(min, max int) error {
		if len(pos) < min || len(pos) > max {
			return usagef("%s takes %s, got %d argument(s)", name, strings.TrimSpace(spec+" "), len(pos))
		}
		return nil
	}
	switch name {
	case "get":
		if err := want(0, 1); err != nil {
			return err
		}
		p := ""
		if len(pos) == 1 {
			p = pos[0]
		}
		b, err := c.State(ctx, p)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, b)
	case "set":
		if err := want(2, 2); err != nil {
			return err
		}
		if !json.Valid([]byte(pos[1])) {
			return usagef("value %q is not JSON (strings need quotes: '\"text\"')", pos[1])
		}
		return patchOne(ctx, c, "add", pos[0], pos[1])
	case "delete":
		if err := want(1, 1); err != nil {
			return err
		}
		return patchOne(ctx, c, "remove", pos[0], "")
	case "patch":
		if err := want(1, 1); err != nil {
			return err
		}
		var body []byte
		if pos[0] == "-" {
			body, err = io.ReadAll(e.stdin)
		} else {
			body, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return fmt.Errorf("reading the patch: %w", err)
		}
		return c.Patch(ctx, body)
	case "watch":
		if err := want(0, 0); err != nil {
			return err
		}
		return c.Watch(ctx, func(ev client.Event) error {
			if ev.Name == "state" && !withState {
				return nil
			}
			_, err := fmt.Fprintf(e.stdout, "%s\n", ev.Data)
			return err
		})
	case "members":
		if err := want(0, 0); err != nil {
			return err
		}
		b, err := c.GetJSON(ctx, "/v1/members")
		if err != nil {
			return err
		}
		var m struct {
			Self    string `json:"self"`
			Members []struct{ Name, Addr string }
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("decoding members: %w", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADDRESS\t")
		for _, x := range m.Members {
			self := ""
			if x.Name == m.Self {
				self = "(this node)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", x.Name, x.Addr, self)
		}
		return tw.Flush()
	case "status":
		if err := want(0, 0); err != nil {
			return err
		}
		b, err := c.GetJSON(ctx, "/v1/status")
		if err != nil {
			return err
		}
		return printJSON(e.stdout, b)
	case "conflicts":
		if err := want(0, 1); err != nil {
			return err
		}
		p := ""
		if len(pos) == 1 {
			p = pos[0]
		}
		b, err := c.Conflicts(ctx, p)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, b)
	}
	return usagef("unknown client command %q", name)
}

func newClient(e *env, addr, tokenFile string) (*client.Client, error) {
	if addr == "" {
		addr = e.getenv("SYNCMESH_ADDR")
	}
	if addr == "" {
		addr = defaultAddr
	}
	token := e.getenv("SYNCMESH_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	c, err := client.New(addr, token, &http.Client{})
	if err != nil {
		return nil, usagef("--addr: %v", err)
	}
	return c, nil
}

func patchOne(ctx context.Context, c *client.Client, op, pointer, value string) error {
	if !strings.HasPrefix(pointer, "/") {
		return usagef("%q is not a JSON Pointer (it must start with /)", pointer)
	}
	p, _ := json.Marshal(pointer)
	body := fmt.Sprintf(`[{"op":%q,"path":%s`, op, p)
	if value != "" {
		body += `,"value":` + value
	}
	return c.Patch(ctx, []byte(body+"}]"))
}

func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		_, err = w.Write(b)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
