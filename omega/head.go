package omega

import (
	"encoding/json"
	"fmt"

	"github.com/omega-listen/omega-listen/omega/internal/jsonscan"
)

// headList are the members of rawHead, in the order ParseEnvelopeHead
// takes them from jsonscan.Members.
var (
	headList  = [...]string{"id", "coid", "ocid", "api_version", "created", "type", "endpoint_id"}
	headNames = jsonscan.NewNames(headList[:]...)
)

// ParseEnvelopeHead is ParseEnvelope without data: the same rules and
// errors, but Data and Video are left nil. The receiver calls it on every
// delivery, where decoding the video would cost more than forwarding.
func ParseEnvelopeHead(b []byte) (*Envelope, error) {
	t, err := envelopeJSON(b)
	if err != nil {
		return nil, err
	}
	var v [len(headList)]json.RawMessage
	if jsonscan.Members(t, headNames, v[:]) == jsonscan.OK {
		h := rawHead{ID: v[0], COID: v[1], OCID: v[2], APIVersion: v[3], Created: v[4], Type: v[5], EndpointID: v[6]}
		return h.envelope(b)
	}
	// Not valid, or not sure: encoding/json decides, and words the error.
	var h rawHead
	if err := json.Unmarshal(t, &h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return h.envelope(b)
}
