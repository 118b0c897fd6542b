package omega

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

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
	t := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), bom))
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	if t[0] != '{' {
		if !json.Valid(t) {
			return nil, fmt.Errorf("%w: %s", ErrNotJSON, syntaxDetail(t))
		}
		return nil, fmt.Errorf("%w: the body is JSON %s, not an object", ErrNotEnvelope, jsonKind(t[0]))
	}
	var h rawHead
	if err := json.Unmarshal(t, &h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	id, ok := jsonString(h.ID)
	if !ok || strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("%w: no string \"id\"", ErrNotEnvelope)
	}
	typ, ok := jsonString(h.Type)
	if !ok || strings.TrimSpace(typ) == "" {
		return nil, fmt.Errorf("%w: no string \"type\"", ErrNotEnvelope)
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
