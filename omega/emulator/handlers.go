package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

// handlerFunc serves one route; args are the path's variable segments.
type handlerFunc func(w http.ResponseWriter, r *http.Request, args []string)

// route maps methods to handlers for one matched path.
type route map[string]handlerFunc

// ServeHTTP serves the API. Every request needs the API key, even one for a
// path that does not exist, as a real API would not reveal its routes.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.log.Debug("omega emulator request", "method", r.Method, "path", r.URL.Path)
	if !e.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeMessage(w, http.StatusUnauthorized, "invalid or missing API key")
		return
	}
	rt, args := e.match(r.URL.Path)
	if rt == nil {
		writeMessage(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	h, ok := rt[r.Method]
	if !ok {
		allow := make([]string, 0, len(rt))
		for m := range rt {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeMessage(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	h(w, r, args)
}

// match finds the route for a path. Update, delete and status exist under
// both /company/webhooks (as documented) and /client/webhooks (where create
// and list live), unless OnlyClientPaths hides the documented one.
func (e *Emulator) match(path string) (route, []string) {
	rest, ok := strings.CutPrefix(path, "/company/")
	if !ok {
		return nil, nil
	}
	s := strings.Split(rest, "/")
	if slices.Contains(s, "") {
		return nil, nil
	}
	client := len(s) >= 2 && s[0] == "client" && s[1] == "webhooks"
	company := len(s) >= 2 && s[0] == "company" && s[1] == "webhooks" && !e.onlyClientPaths
	switch {
	case len(s) == 2 && s[0] == "_emulator" && s[1] == "deliver":
		return route{http.MethodPost: e.handleDeliver}, nil
	case client && len(s) == 2:
		return route{http.MethodPost: e.handleCreate}, nil
	case client && len(s) == 3 && s[2] == "all":
		return route{http.MethodGet: e.handleList}, nil
	case client && len(s) == 3:
		return route{
			http.MethodGet:    e.handleHistory,
			http.MethodPut:    e.handleUpdate,
			http.MethodDelete: e.handleDelete,
		}, s[2:3]
	case company && len(s) == 3:
		return route{
			http.MethodPut:    e.handleUpdate,
			http.MethodDelete: e.handleDelete,
		}, s[2:3]
	case (client || company) && len(s) == 4 && s[3] == "status":
		return route{http.MethodPost: e.handleStatus}, s[2:3]
	case client && len(s) == 5 && s[3] == "events":
		return route{http.MethodGet: e.handleEvent}, []string{s[2], s[4]}
	}
	return nil, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"emulator: encode response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeNotFound(w http.ResponseWriter) {
	writeMessage(w, http.StatusNotFound, "webhook endpoint not found")
}

// decodeBody reads one JSON value from a request body (at most
// maxRequestBody) into v. On failure it has already answered and returns
// false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, maxRequestBody)
	dec := json.NewDecoder(body)
	var mbe *http.MaxBytesError
	err := dec.Decode(v)
	if err == nil {
		_, terr := dec.Token()
		switch {
		case terr == io.EOF:
			return true
		case errors.As(terr, &mbe):
			err = terr
		default:
			err = errTrailing
		}
	}
	switch {
	case errors.As(err, &mbe):
		writeMessage(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, io.EOF):
		writeMessage(w, http.StatusBadRequest, "request body is empty; send a JSON object")
	default:
		writeMessage(w, http.StatusBadRequest, "request body is not valid JSON for this call: "+err.Error())
	}
	return false
}

var errTrailing = errors.New("unexpected data after the JSON value")

// endpointBody is the create/update body. Description is a pointer so an
// explicit null is accepted like an absent one.
type endpointBody struct {
	URL         string   `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
}

// validate answers 422 and returns false if the body would not be accepted.
func (b endpointBody) validate(w http.ResponseWriter) bool {
	u, err := url.Parse(b.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		writeMessage(w, http.StatusUnprocessableEntity, "url must be an absolute http(s) URL")
		return false
	}
	if len(b.Events) == 0 {
		writeMessage(w, http.StatusUnprocessableEntity, "events must list at least one event type")
		return false
	}
	for _, t := range b.Events {
		if !omega.Known(t) {
			writeMessage(w, http.StatusUnprocessableEntity, fmt.Sprintf("unknown event type %q", t))
			return false
		}
	}
	return true
}

func (b endpointBody) description() *string {
	if b.Description == nil || *b.Description == "" {
		return nil
	}
	d := *b.Description
	return &d
}

func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request, _ []string) {
	var b endpointBody
	if !decodeBody(w, r, &b) || !b.validate(w) {
		return
	}
	now := time.Now().UTC()
	ep := omega.Endpoint{
		ID:          omega.NewObjectID(),
		CreatedAt:   now,
		UpdatedAt:   now,
		COID:        e.coid,
		URL:         b.URL,
		Description: b.description(),
		Events:      slices.Clone(b.Events),
		Active:      true,
	}
	e.mu.Lock()
	e.endpoints[ep.ID] = &endpointState{ep: ep}
	e.order = append(e.order, ep.ID)
	e.mu.Unlock()
	e.log.Info("omega emulator: endpoint created", "id", ep.ID, "url", ep.URL, "events", ep.Events)
	writeJSON(w, http.StatusOK, ep)
}

func (e *Emulator) handleList(w http.ResponseWriter, _ *http.Request, _ []string) {
	writeJSON(w, http.StatusOK, e.Endpoints())
}

func (e *Emulator) handleUpdate(w http.ResponseWriter, r *http.Request, args []string) {
	var b endpointBody
	if !decodeBody(w, r, &b) || !b.validate(w) {
		return
	}
	e.mu.Lock()
	st, ok := e.endpoints[args[0]]
	var ep omega.Endpoint
	if ok {
		st.ep.URL = b.URL
		st.ep.Description = b.description()
		st.ep.Events = slices.Clone(b.Events)
		st.ep.UpdatedAt = bumped(st.ep.UpdatedAt)
		ep = cloneEndpoint(st.ep)
	}
	e.mu.Unlock()
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, ep)
}

// bumped returns now, or just after prev if the clock has not moved past it,
// so every change visibly moves updated_at forward.
func bumped(prev time.Time) time.Time {
	now := time.Now().UTC()
	if !now.After(prev) {
		now = prev.Add(time.Microsecond)
	}
	return now
}

func (e *Emulator) handleDelete(w http.ResponseWriter, _ *http.Request, args []string) {
	id := args[0]
	e.mu.Lock()
	_, ok := e.endpoints[id]
	if ok {
		delete(e.endpoints, id)
		e.order = slices.DeleteFunc(e.order, func(s string) bool { return s == id })
	}
	e.mu.Unlock()
	if !ok {
		writeNotFound(w)
		return
	}
	e.log.Info("omega emulator: endpoint deleted", "id", id)
	writeMessage(w, http.StatusOK, "webhook endpoint deleted")
}

func (e *Emulator) handleStatus(w http.ResponseWriter, r *http.Request, args []string) {
	var b struct {
		Active *bool `json:"active"`
	}
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Active == nil {
		writeMessage(w, http.StatusBadRequest, `active is required: send {"active": true} or {"active": false}`)
		return
	}
	e.mu.Lock()
	st, ok := e.endpoints[args[0]]
	var ep omega.Endpoint
	if ok {
		st.ep.Active = *b.Active
		st.ep.UpdatedAt = bumped(st.ep.UpdatedAt)
		ep = cloneEndpoint(st.ep)
	}
	e.mu.Unlock()
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, ep)
}

// listedEvent is an event as Omega's list form shows it: company id under
// "ocid", created_at the zero time, data and response null. The docs show
// exactly this, so clients must cope with it.
type listedEvent struct {
	ID         string          `json:"id"`
	OCID       string          `json:"ocid"`
	APIVersion string          `json:"api_version"`
	Created    int64           `json:"created"`
	CreatedAt  time.Time       `json:"created_at"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	EndpointID string          `json:"endpoint_id"`
	Response   *struct{}       `json:"response"`
}

func (e *Emulator) handleHistory(w http.ResponseWriter, _ *http.Request, args []string) {
	e.mu.Lock()
	st, ok := e.endpoints[args[0]]
	var out []listedEvent
	if ok {
		out = make([]listedEvent, 0, len(st.history))
		for i := len(st.history) - 1; i >= 0; i-- {
			ev := st.history[i]
			out = append(out, listedEvent{
				ID:         ev.ID,
				OCID:       ev.COID,
				APIVersion: ev.APIVersion,
				Created:    ev.Created,
				Type:       ev.Type,
				EndpointID: ev.EndpointID,
			})
		}
	}
	e.mu.Unlock()
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) handleEvent(w http.ResponseWriter, _ *http.Request, args []string) {
	e.mu.Lock()
	st, ok := e.endpoints[args[0]]
	var found *omega.Event
	if ok {
		for i := range st.history {
			if st.history[i].ID == args[1] {
				ev := st.history[i]
				found = &ev
				break
			}
		}
	}
	e.mu.Unlock()
	switch {
	case !ok:
		writeNotFound(w)
	case found == nil:
		writeMessage(w, http.StatusNotFound, "webhook event not found")
	default:
		writeJSON(w, http.StatusOK, found)
	}
}

// deliverRequest is the control route's body.
type deliverRequest struct {
	Type       string `json:"type"`
	EndpointID string `json:"endpoint_id"`
	Count      int    `json:"count"`
}

func (e *Emulator) handleDeliver(w http.ResponseWriter, r *http.Request, _ []string) {
	var b deliverRequest
	if !decodeBody(w, r, &b) {
		return
	}
	if !omega.Known(b.Type) {
		writeMessage(w, http.StatusUnprocessableEntity, (&omega.UnknownTypeError{Type: b.Type}).Error())
		return
	}
	if b.Count == 0 {
		b.Count = 1
	}
	if b.Count < 0 || b.Count > maxDeliverCount {
		writeMessage(w, http.StatusUnprocessableEntity, fmt.Sprintf("count must be between 1 and %d", maxDeliverCount))
		return
	}
	out := []Delivery{}
	for range b.Count {
		if r.Context().Err() != nil {
			break // the caller went away; stop sending on its behalf
		}
		if b.EndpointID != "" {
			d, err := e.DeliverTo(r.Context(), b.EndpointID, b.Type)
			if errors.Is(err, ErrEndpointNotFound) {
				writeNotFound(w)
				return
			}
			if err != nil {
				writeMessage(w, http.StatusUnprocessableEntity, err.Error())
				return
			}
			out = append(out, *d)
			continue
		}
		ds, err := e.Deliver(r.Context(), b.Type)
		if err != nil {
			writeMessage(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		out = append(out, ds...)
	}
	writeJSON(w, http.StatusOK, map[string][]Delivery{"deliveries": out})
}
