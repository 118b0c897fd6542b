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
	var h rawHead
	t := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), bom))
	if len(t) > 0 && t[0] == '{' && headScan(t, &h) == scanOK {
		id, ok := fastString(h.ID)
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("%w: no string \"id\"", ErrNotEnvelope)
		}
		typ, ok := fastString(h.Type)
		if !ok || strings.TrimSpace(typ) == "" {
			return nil, fmt.Errorf("%w: no string \"type\"", ErrNotEnvelope)
		}
		co, _ := fastString(h.COID)
		if co == "" {
			co, _ = fastString(h.OCID)
		}
		api, _ := fastString(h.APIVersion)
		ep, _ := fastString(h.EndpointID)
		return &Envelope{ID: id, COID: co, APIVersion: api, Created: unixSeconds(h.Created), Type: typ, EndpointID: ep, Raw: b}, nil
	}
	// Not an object, not valid, or not sure: encoding/json decides, and
	// words the error.
	h = rawHead{}
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
