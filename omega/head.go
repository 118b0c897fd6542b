package omega

import (
	"encoding/json"
	"fmt"
)

// ParseEnvelopeHead is ParseEnvelope without data: the same rules and
// errors, but Data and Video are left nil. The receiver calls it on every
// delivery, where decoding the video would cost more than forwarding.
func ParseEnvelopeHead(b []byte) (*Envelope, error) {
	t, err := envelopeJSON(b)
	if err != nil {
		return nil, err
	}
	var h rawHead
	if headScan(t, &h) != scanOK {
		// Not valid, or not sure: encoding/json decides, and words the error.
		h = rawHead{}
		if err := json.Unmarshal(t, &h); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
		}
	}
	return h.envelope(b)
}
