// Package client calls a syncmesh node's HTTP API (docs/http-api.md): the
// client side of the command line's get, set, delete, patch, watch,
// members, status and conflicts commands.
//
// A Client is safe for concurrent use. Errors from the node arrive as RFC
// 9457 problems and are returned as *ProblemError, which unwraps to
// ErrProblem.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

var (
	// ErrProblem reports an error response from the node.
	ErrProblem = errors.New("client: the node refused the request")
	// ErrAddr reports an unusable node address.
	ErrAddr = errors.New("client: bad node address")
)

// ProblemError is an RFC 9457 problem returned by the node.
type ProblemError struct {
	Status int
	Type   string
	Title  string
	Detail string
}

func (e *ProblemError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%d %s", e.Status, e.Title)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail)
}

// Unwrap returns ErrProblem.
func (e *ProblemError) Unwrap() error { return ErrProblem }

// Client talks to one node.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// New returns a Client for the node at addr ("http://host:port" or
// "host:port"), sending token (if non-empty) as a bearer token. hc nil
// means http.DefaultClient.
func New(addr, token string, hc *http.Client) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: %q (want http://host:port)", ErrAddr, addr)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, hc: hc}, nil
}

func (c *Client) do(ctx context.Context, method, path, ctype string, body []byte) (*http.Response, error) {
	// path is already escaped (escapePointer, QueryEscape).
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		pe := &ProblemError{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if json.Unmarshal(b, pe) != nil || pe.Title == "" {
			pe.Title, pe.Detail = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
		}
		pe.Status = resp.StatusCode
		return nil, pe
	}
	return resp, nil
}

// GetJSON GETs path and returns the body.
func (c *Client) GetJSON(ctx context.Context, path string) (json.RawMessage, error) {
	resp, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// State returns the value at pointer ("" for the whole state).
func (c *Client) State(ctx context.Context, pointer string) (json.RawMessage, error) {
	if pointer != "" && !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("client: %q is not a JSON Pointer (it must start with /)", pointer)
	}
	return c.GetJSON(ctx, "/v1/state"+escapePointer(pointer))
}

// escapePointer escapes each token for a URL path, keeping the slashes.
func escapePointer(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

// Patch sends an RFC 6902 patch document (a JSON array).
func (c *Client) Patch(ctx context.Context, patch []byte) error {
	resp, err := c.do(ctx, http.MethodPatch, "/v1/state", "application/json-patch+json", patch)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Conflicts returns the /v1/conflicts report for pointer ("" for all).
func (c *Client) Conflicts(ctx context.Context, pointer string) (json.RawMessage, error) {
	if pointer == "" {
		return c.GetJSON(ctx, "/v1/conflicts")
	}
	return c.GetJSON(ctx, "/v1/conflicts?path="+url.QueryEscape(pointer))
}

// Event is one Server-Sent Event of /v1/watch.
type Event struct {
	Name, ID string
	Data     json.RawMessage
}

// Watch streams /v1/watch, calling f for each event until ctx ends, the
// stream ends, or f returns an error.
func (c *Client) Watch(ctx context.Context, f func(Event) error) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/watch", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var ev Event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Name != "" {
				if err := f(ev); err != nil {
					return err
				}
			}
			ev = Event{}
		case strings.HasPrefix(line, "event:"):
			ev.Name = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "data:"):
			ev.Data = append(ev.Data, strings.TrimSpace(line[5:])...)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client: watch stream: %w", err)
	}
	return nil
}
