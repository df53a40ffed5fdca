package memnet

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidConfig is wrapped by every Config and LinkFaults validation
	// error.
	ErrInvalidConfig = errors.New("memnet: invalid config")
	// ErrClosed means the Network, the calling Transport or the target
	// node has been shut down.
	ErrClosed = errors.New("memnet: closed")
	// ErrBadAddress means an address is not a literal "IP:port".
	ErrBadAddress = errors.New("memnet: bad address")
	// ErrNoRoute means no node has ever had the address.
	ErrNoRoute = errors.New("memnet: no route to address")
	// ErrPartitioned means a partition, block or isolation separates the
	// two nodes.
	ErrPartitioned = errors.New("memnet: partitioned")
	// ErrBacklogFull means the target's inbound stream queue is full.
	ErrBacklogFull = errors.New("memnet: stream backlog full")
	// ErrDuplicateName means a live transport already has the name.
	ErrDuplicateName = errors.New("memnet: duplicate node name")
	// ErrBadPartition means a Partition call named a node twice or used an
	// empty name.
	ErrBadPartition = errors.New("memnet: bad partition")
)

// DialError describes a refused dial. It unwraps to ErrClosed, ErrNoRoute,
// ErrPartitioned or ErrBacklogFull. It is immutable once returned.
type DialError struct {
	// From is the dialling node's name.
	From string
	// To is the dialled address.
	To string
	// Err is the sentinel saying why.
	Err error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("memnet: dial %s from %s: %s", e.To, e.From, strings.TrimPrefix(e.Err.Error(), "memnet: "))
}

func (e *DialError) Unwrap() error { return e.Err }
