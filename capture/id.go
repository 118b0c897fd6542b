package capture

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idAlphabet is Crockford's base32 in lower case: no i, l, o or u, so an ID
// read aloud or copied from a terminal cannot be mistyped into another one.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idPrefix marks capture IDs so they are recognisable in logs and headers.
const idPrefix = "c_"

var idState struct {
	mu   sync.Mutex
	ms   uint64
	rand [10]byte
}

// NewID returns a new capture ID: "c_" and 26 base32 characters, the first
// 10 the millisecond time and the rest 80 random bits. IDs sort by creation
// time; within one millisecond of one process they still sort in creation
// order, because the random part is incremented rather than redrawn.
func NewID() string {
	ms := uint64(time.Now().UnixMilli())
	idState.mu.Lock()
	if ms <= idState.ms {
		// Same millisecond (or the clock stepped back): keep the time and
		// count up so the order of IDs is the order of calls.
		ms = idState.ms
		if !incr(&idState.rand) {
			ms++
			idState.ms = ms
		}
	} else {
		idState.ms = ms
		_, _ = rand.Read(idState.rand[:]) // crypto/rand.Read does not fail on supported platforms
	}
	r := idState.rand
	idState.mu.Unlock()

	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], ms<<16)
	copy(raw[6:], r[:])
	return idPrefix + encodeBase32(raw)
}

// incr adds one to the big-endian number in b, reporting false on overflow.
func incr(b *[10]byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

// encodeBase32 renders the 128 bits of raw as 26 characters, most
// significant first (the top two bits of the first character are zero).
func encodeBase32(raw [16]byte) string {
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
