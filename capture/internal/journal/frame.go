package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// HeaderLen is the length of a frame's header: length and CRC.
	HeaderLen = 8
	// MaxLen bounds what a reader believes of a length field.
	MaxLen = 1 << 30
)

// ErrTorn reports a frame that runs past the end of its bytes: the write
// that made it was cut short.
var ErrTorn = errors.New("incomplete record at end of journal")

var errChecksum = errors.New("checksum mismatch")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// StartFrame appends a frame header to dst, to be filled in by EndFrame
// and Seal once the body follows it.
func StartFrame(dst []byte) []byte {
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
}

// EndFrame stores the length of frame's body (everything after its header)
// in its header.
func EndFrame(frame []byte) {
	binary.LittleEndian.PutUint32(frame, uint32(len(frame)-HeaderLen))
}

// Seal stores the CRC of frame's body in its header. Append seals the
// frames it writes; nothing may change the body afterwards.
func Seal(frame []byte) {
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(frame[HeaderLen:], castagnoli))
}

// Next reads the frame that starts b: its body (aliasing b) and its whole
// size. err is ErrTorn when b ends inside the frame, and says what is wrong
// when the frame is damaged (an impossible length, a checksum mismatch).
func Next(b []byte) (body []byte, size int, err error) {
	if len(b) < HeaderLen {
		return nil, 0, ErrTorn
	}
	n := binary.LittleEndian.Uint32(b)
	if n > MaxLen || n < 2 {
		return nil, 0, fmt.Errorf("impossible length %d", n)
	}
	if uint64(len(b)-HeaderLen) < uint64(n) {
		return nil, 0, ErrTorn
	}
	body = b[HeaderLen : HeaderLen+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errChecksum
	}
	return body, HeaderLen + int(n), nil
}

// Size is the size of the frame that starts b as its header says it, or 0
// if b is shorter than a header.
func Size(b []byte) int64 {
	if len(b) < HeaderLen {
		return 0
	}
	return HeaderLen + int64(binary.LittleEndian.Uint32(b))
}

// LastFrame reports whether the bad frame at off is the last thing in b:
// damage confined to the final frame, as an interrupted write leaves. An
// impossible length is not something a cut-short write produces.
func LastFrame(b []byte, off int) bool {
	rest := b[off:]
	if len(rest) < HeaderLen {
		return true
	}
	n := binary.LittleEndian.Uint32(rest)
	if n > MaxLen || n < 2 {
		return false
	}
	return uint64(len(rest)) <= HeaderLen+uint64(n)
}
