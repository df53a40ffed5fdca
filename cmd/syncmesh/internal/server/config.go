package server

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/httpapi"
	"github.com/syncmesh/syncmesh/mesh"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("server: invalid configuration")

// Config configures a node process.
type Config struct {
	// Name is the node's unique name in the mesh. Default: the host name.
	Name string
	// Bind is the memberlist address (host:port, UDP and TCP). Default
	// 127.0.0.1:7946: loopback unless asked, like the HTTP API; use
	// 0.0.0.0:7946 (with a key) to serve a LAN. Port 0 picks a free port.
	Bind string
	// Advertise is the address peers should use when it differs from Bind
	// (NAT, containers). Default empty: derived from Bind.
	Advertise string
	// Join lists peers (host:port) to join at start. Default none: a new
	// mesh, waiting for others to join it.
	Join []string
	// DataDir is the node's data directory: the embedded store (one bbolt
	// file, syncmesh.db) holding its document, replica id and clock, so a
	// restarted node comes back with everything it acknowledged. Default:
	// syncmesh/<name> under the user's state directory ($XDG_STATE_HOME or
	// ~/.local/state; ./syncmesh-data/<name> without a home directory), per
	// node name so several nodes on one machine do not share one. A damaged directory, or one of another mesh (label) or
	// strategy table, makes the node refuse to start.
	DataDir string
	// NoSync turns off fsync in the store: acknowledged writes survive a
	// process crash but not a power loss. Default false. For tests.
	NoSync bool
	// HTTP is the HTTP API and dashboard address. Default 127.0.0.1:7947
	// (loopback: the API's reads are not authenticated). Empty disables it.
	HTTP string
	// KeyFile holds the mesh encryption key(s): one per line, base64 or
	// hex, 16, 24 or 32 bytes each; the first encrypts, all decrypt.
	// Default empty: no encryption.
	KeyFile string
	// Label is the memberlist label; nodes with another label ignore us.
	// Default "syncmesh".
	Label string
	// StrategiesFile is a YAML or JSON strategy table (pattern: strategy).
	// Default empty: last-writer-wins everywhere. Every node must use an
	// equal table.
	StrategiesFile string
	// Profile is the memberlist timing preset: "lan", "wan" or "local".
	// Default "lan".
	Profile string
	// Token is the bearer token for write endpoints. Default empty: none.
	Token string
	// MaxBodyBytes bounds HTTP request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// LeaveTimeout bounds the leave announcement at stop. Default 3 s.
	LeaveTimeout time.Duration
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
	// Out receives one line per listener once the node serves ("mesh ...",
	// "http ..."), so scripts and tests learn ports chosen for port 0.
	// Default io.Discard.
	Out io.Writer
}

// DefaultConfig returns the defaults, with Name the host name and DataDir
// under the user's state directory.
func DefaultConfig() Config {
	name, _ := os.Hostname()
	return Config{Name: name, Bind: "127.0.0.1:7946", HTTP: "127.0.0.1:7947", Label: "syncmesh",
		Profile: "lan", MaxBodyBytes: httpapi.DefaultMaxBodyBytes, LeaveTimeout: 3 * time.Second}
}

// DefaultDataDir returns syncmesh/<name> under the user's state directory
// ($XDG_STATE_HOME, else ~/.local/state), or syncmesh-data/<name> under
// the working directory for a user without a home directory (a service
// account).
func DefaultDataDir(name string) (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return filepath.Join("syncmesh-data", name), nil
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "syncmesh", name), nil
}

// Validate reports the first invalid field, wrapped in ErrConfig. It does
// not touch the file system.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if c.Name == "" {
		return bad("--name is empty")
	}
	if c.Name != strings.TrimSpace(c.Name) || strings.ContainsAny(c.Name, "/\\\x00") {
		return bad("--name %q must not contain spaces at the ends, slashes or NUL", c.Name)
	}
	if _, _, err := splitHostPort(c.Bind); err != nil {
		return bad("--bind %q: %v", c.Bind, err)
	}
	if c.Advertise != "" {
		if _, _, err := splitHostPort(c.Advertise); err != nil {
			return bad("--advertise %q: %v", c.Advertise, err)
		}
	}
	for _, p := range c.Join {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return bad("--join %q: want host:port", p)
		}
	}
	if c.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
			return bad("--http %q: want host:port", c.HTTP)
		}
	}
	if _, err := profile(c.Profile); err != nil {
		return bad("%v", err)
	}
	switch {
	case c.MaxBodyBytes <= 0:
		return bad("--max-body must be positive, got %d", c.MaxBodyBytes)
	case c.LeaveTimeout < 0:
		return bad("leave timeout must not be negative")
	}
	return nil
}

func splitHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, errors.New("want host:port")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("port %q is not 0-65535", port)
	}
	return host, p, nil
}

func profile(s string) (func() mesh.Config, error) {
	switch strings.ToLower(s) {
	case "", "lan":
		return mesh.LANConfig, nil
	case "wan":
		return mesh.WANConfig, nil
	case "local":
		return mesh.LocalConfig, nil
	}
	return nil, fmt.Errorf("--profile %q: want lan, wan or local", s)
}

// ReadKeys reads a key file: one key per line, base64 (standard or URL,
// padded or not) or hex, each 16, 24 or 32 bytes. Blank lines and lines
// starting with # are skipped.
func ReadKeys(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --key-file: %w", ErrConfig, err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := decodeKey(line)
		if err != nil {
			return nil, fmt.Errorf("%w: --key-file %s line %d: %v", ErrConfig, path, i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: --key-file %s holds no key", ErrConfig, path)
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	var k []byte
	if h, err := hex.DecodeString(s); err == nil {
		k = h
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				k = b
				break
			}
		}
	}
	if k == nil {
		return nil, errors.New("not base64 or hex")
	}
	if n := len(k); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 16, 24 or 32 (AES-128/192/256)", n)
	}
	return k, nil
}
