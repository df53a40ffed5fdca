package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// The on-disk encodings. Every stored value is a record: a 4-byte big-endian
// CRC-32C (Castagnoli) of the payload, then the payload. Integers are
// big-endian and fixed width; version vectors are sorted by replica, so every
// encoding is deterministic.

// formatVersion is the version of the data file layout this build writes
// and understands. Append-only: a newer file is refused with ErrFormat.
const formatVersion = 1

// recordHeader is the size of a record's checksum.
const recordHeader = 4

// logKeyLen is the size of a log key: replica, start, end.
const logKeyLen = 24

// maxVVEntries bounds a decoded version vector before allocation.
const maxVVEntries = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errRecord is what the decoders return; callers wrap it in a CorruptError
// naming the file and key.
var errRecord = errors.New("malformed record")

// appendRecord appends the record of payload to dst.
func appendRecord(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// decodeRecord checks a record's checksum and returns its payload, a
// subslice of b.
func decodeRecord(b []byte) ([]byte, error) {
	if len(b) < recordHeader {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the checksum", errRecord, len(b))
	}
	want := binary.BigEndian.Uint32(b)
	p := b[recordHeader:]
	if got := crc32.Checksum(p, castagnoli); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, stored %08x", errRecord, got, want)
	}
	return p, nil
}

// logKey encodes a log key: order by replica, then start, then end.
func logKey(c Change) []byte {
	k := make([]byte, 0, logKeyLen)
	k = binary.BigEndian.AppendUint64(k, uint64(c.Replica))
	k = binary.BigEndian.AppendUint64(k, c.Start)
	return binary.BigEndian.AppendUint64(k, c.End)
}

// decodeLogKey decodes a log key into a Change header.
func decodeLogKey(k []byte) (Change, error) {
	if len(k) != logKeyLen {
		return Change{}, fmt.Errorf("%w: log key of %d bytes, want %d", errRecord, len(k), logKeyLen)
	}
	c := Change{
		Replica: clock.ReplicaID(binary.BigEndian.Uint64(k)),
		Start:   binary.BigEndian.Uint64(k[8:]),
		End:     binary.BigEndian.Uint64(k[16:]),
	}
	if !c.valid() {
		return Change{}, fmt.Errorf("%w: log key %s %d..%d is not a valid range", errRecord, c.Replica, c.Start, c.End)
	}
	return c, nil
}

// appendVV appends the encoding of v: a uint32 count, then (replica, seq)
// pairs in ascending replica order. Zero entries are left out.
func appendVV(dst []byte, v VersionVector) []byte {
	ids := make([]clock.ReplicaID, 0, len(v))
	for r, s := range v {
		if s != 0 {
			ids = append(ids, r)
		}
	}
	slices.Sort(ids)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(ids)))
	for _, r := range ids {
		dst = binary.BigEndian.AppendUint64(dst, uint64(r))
		dst = binary.BigEndian.AppendUint64(dst, v[r])
	}
	return dst
}

// decodeVV decodes appendVV's encoding, which must fill b exactly.
func decodeVV(b []byte) (VersionVector, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: version vector of %d bytes", errRecord, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > maxVVEntries || uint64(len(b)-4) != uint64(n)*16 {
		return nil, fmt.Errorf("%w: version vector of %d entries in %d bytes", errRecord, n, len(b))
	}
	v := make(VersionVector, n)
	var prev clock.ReplicaID
	for i := range int(n) {
		e := b[4+16*i:]
		r := clock.ReplicaID(binary.BigEndian.Uint64(e))
		s := binary.BigEndian.Uint64(e[8:])
		if r <= prev || s == 0 {
			return nil, fmt.Errorf("%w: version vector entry %d (%s: %d) out of order or zero", errRecord, i, r, s)
		}
		v[r] = s
		prev = r
	}
	return v, nil
}

// appendChange appends a change with its header: replica, start, end
// (8 bytes each), then the data. Used for quarantined changes.
func appendChange(dst []byte, c Change) []byte {
	dst = append(dst, logKey(c)...)
	return append(dst, c.Data...)
}

// decodeChange decodes appendChange's encoding. Data is a subslice of b.
func decodeChange(b []byte) (Change, error) {
	if len(b) < logKeyLen {
		return Change{}, fmt.Errorf("%w: change of %d bytes, shorter than its header", errRecord, len(b))
	}
	c, err := decodeLogKey(b[:logKeyLen])
	if err != nil {
		return Change{}, err
	}
	c.Data = b[logKeyLen:]
	return c, nil
}

// decodeUint64 decodes a fixed-width integer payload.
func decodeUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: integer of %d bytes, want 8", errRecord, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// decodeClock decodes a persisted clock bound.
func decodeClock(b []byte) (clock.Timestamp, error) {
	t, err := clock.Decode(b)
	if err != nil {
		return clock.Timestamp{}, fmt.Errorf("%w: clock bound: %w", errRecord, err)
	}
	return t, nil
}
