package omega

import "encoding/json"

// rawHead is rawEvent without data and response, so decoding skips them.
type rawHead struct {
	ID         json.RawMessage `json:"id"`
	COID       json.RawMessage `json:"coid"`
	OCID       json.RawMessage `json:"ocid"`
	APIVersion json.RawMessage `json:"api_version"`
	Created    json.RawMessage `json:"created"`
	Type       json.RawMessage `json:"type"`
	EndpointID json.RawMessage `json:"endpoint_id"`
}

// ParseEnvelopeHead is ParseEnvelope without data: the same rules and
// errors, but Data and Video are left nil. The receiver calls it on every
// delivery, where decoding the video would cost more than forwarding.
func ParseEnvelopeHead(b []byte) (*Envelope, error) {
	var h rawHead
	id, typ, err := decodeEnvelope(b, &h, &h.ID, &h.Type)
	if err != nil {
		return nil, err
	}
	return &Envelope{
		ID:         id,
		COID:       coid(rawEvent{COID: h.COID, OCID: h.OCID}),
		APIVersion: stringOr(h.APIVersion),
		Created:    unixSeconds(h.Created),
		Type:       typ,
		EndpointID: stringOr(h.EndpointID),
		Raw:        b,
	}, nil
}
