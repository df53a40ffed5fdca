package memnet

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"zero packet size", func(c *Config) { c.MaxPacketSize = 0 }, false},
		{"zero packet queue", func(c *Config) { c.PacketQueueLen = 0 }, false},
		{"negative stream queue", func(c *Config) { c.StreamQueueLen = -1 }, false},
		{"loss above 1", func(c *Config) { c.Faults.Loss = 1.5 }, false},
		{"loss NaN", func(c *Config) { c.Faults.Loss = math.NaN() }, false},
		{"loss 1", func(c *Config) { c.Faults.Loss = 1 }, true},
		{"negative burst", func(c *Config) { c.Faults.Burst.GoodToBad = -0.1 }, false},
		{"negative delay", func(c *Config) { c.Faults.Delay = -time.Millisecond }, false},
		{"negative jitter", func(c *Config) { c.Faults.Jitter = -time.Millisecond }, false},
		{"unknown distribution", func(c *Config) { c.Faults.JitterDist = 7 }, false},
		{"reorder without delay", func(c *Config) { c.Faults.Reorder = 0.1 }, false},
		{"reorder with delay", func(c *Config) { c.Faults.Reorder = 0.1; c.Faults.ReorderDelay = time.Millisecond }, true},
		{"duplicate above 1", func(c *Config) { c.Faults.Duplicate = 2 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tc.ok {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
				}
				if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("New = %v, want ErrInvalidConfig", err)
				}
			}
		})
	}
}

func TestSetFaultsRejectsInvalid(t *testing.T) {
	n := newTestNet(t, nil)
	if err := n.SetFaults(LinkFaults{Loss: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetFaults = %v, want ErrInvalidConfig", err)
	}
	if err := n.SetLinkFaults("a", "b", LinkFaults{Duplicate: 3}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetLinkFaults = %v, want ErrInvalidConfig", err)
	}
}
