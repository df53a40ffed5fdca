package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

// TestMain fails the package if a test leaves a goroutine behind.
func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }

func TestRunConverges(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"loss and partition", func(c *Config) { c.Nodes, c.Loss, c.Partition = 4, 0.2, 500*time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			var out bytes.Buffer
			cfg.Out = &out
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if !rep.Converged {
				t.Fatalf("not converged\n%s", out.String())
			}
			got := rep.State.String()
			for _, want := range []string{
				`"highscore":42`,
				`"visits":` + string(rune('0'+cfg.Nodes)),
				`"todos":[{"done":true},{"text":"buy milk"}`,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("state %s lacks %s", got, want)
				}
			}
			if !strings.Contains(got, `"title":"Weekend trip to Lisbon"`) && !strings.Contains(got, `"title":"Weekend trip to Porto"`) {
				t.Errorf("state %s: the title is neither concurrent write", got)
			}
			for _, want := range []string{"Converged: all", "[lww, rule /title]", "[max, rule /highscore]", "[multi, rule /color]", "[counter, rule /counters/*]"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"one node", func(c *Config) { c.Nodes = 1 }, "nodes must be between 2 and 50"},
		{"loss", func(c *Config) { c.Loss = 1 }, "loss must be"},
		{"negative partition", func(c *Config) { c.Partition = -time.Second }, "partition must not be negative"},
		{"partition too long", func(c *Config) { c.Partition = time.Minute }, "shorter than the timeout"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want ErrConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestRunTimesOut(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Timeout = 2, time.Millisecond
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("Run with a 1 ms timeout succeeded")
	}
}
