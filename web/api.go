package web

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/omega-listen/omega-listen/capture"
)

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/index.html"))

func assetHandler() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, struct{ Token string }{s.token})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.stateMsg("session"))
}

// listLimit bounds one page of GET /api/captures.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// query reads filter, before and after from the URL.
func (s *Server) query(r *http.Request) (capture.Query, error) {
	v := r.URL.Query()
	flt, err := capture.ParseFilter(v.Get("filter"), s.currentInfo().KnownTypes)
	if err != nil {
		return capture.Query{}, fmt.Errorf("filter: %w", err)
	}
	q := flt.Query
	if q.BeforeSeq, err = atoi64(v.Get("before")); err != nil || q.BeforeSeq < 0 {
		return q, fmt.Errorf("before: want a sequence number, got %q", v.Get("before"))
	}
	if q.AfterSeq, err = atoi64(v.Get("after")); err != nil || q.AfterSeq < 0 {
		return q, fmt.Errorf("after: want a sequence number, got %q", v.Get("after"))
	}
	return q, nil
}

type listAnswer struct {
	Captures []capture.Summary `json:"captures"`
	// More: older captures match too (ask again with before= the last Seq).
	More bool `json:"more"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q, err := s.query(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := defaultLimit
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > maxLimit {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d, got %q", maxLimit, l))
			return
		}
	}
	q.Newest, q.Limit = true, limit+1
	rows, err := s.o.Actions.List(r.Context(), q)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "reading the store: "+err.Error())
		return
	}
	a := listAnswer{Captures: rows}
	if len(rows) > limit {
		a.Captures, a.More = rows[:limit], true
	}
	if a.Captures == nil {
		a.Captures = []capture.Summary{}
	}
	writeJSON(w, http.StatusOK, a)
}

// Detail is a whole capture as the API gives it: bodies as text when
// they are UTF-8, else base64 (the *_encoding field says "base64").
type Detail struct {
	capture.Summary
	Outcome          capture.Outcome `json:"outcome"`
	HeaderList       [][2]string     `json:"header_list"`
	Body             string          `json:"body"`
	BodyEncoding     string          `json:"body_encoding,omitempty"`
	RespHeaderList   [][2]string     `json:"response_header_list"`
	RespBody         string          `json:"response_body"`
	RespBodyEncoding string          `json:"response_body_encoding,omitempty"`
	Curl             string          `json:"curl,omitempty"`
	// Replays are the captures that replayed this one, newest first.
	Replays []capture.Summary `json:"replays"`
}

func bodyText(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

func headerList(h http.Header) [][2]string {
	out := [][2]string{}
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func (s *Server) detail(r *http.Request, c *capture.Capture) Detail {
	d := Detail{Summary: c.Summary(), Outcome: c.Outcome(), HeaderList: headerList(c.Headers), RespHeaderList: headerList(c.RespHeaders)}
	d.Body, d.BodyEncoding = bodyText(c.Body)
	d.RespBody, d.RespBodyEncoding = bodyText(c.RespBody)
	if s.o.Actions.Curl != nil && !c.Flags.Has(capture.FlagRejected) {
		d.Curl = s.o.Actions.Curl(c)
	}
	d.Replays = []capture.Summary{}
	if reps, err := s.o.Actions.List(r.Context(), capture.Query{ReplayOf: c.ID, Newest: true, Limit: 50}); err == nil {
		d.Replays = reps
	}
	return d
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c, err := s.o.Actions.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.getError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.detail(r, c))
}

func (s *Server) getError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, capture.ErrNotFound):
		apiError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, capture.ErrAmbiguous):
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		apiError(w, http.StatusInternalServerError, err.Error())
	}
}

// ReplayRequest is the body of POST /api/captures/{id}/replay; every
// field is optional.
type ReplayRequest struct {
	// Body replaces the recorded body, byte for byte (text; or base64
	// when BodyEncoding is "base64").
	Body         *string `json:"body,omitempty"`
	BodyEncoding string  `json:"body_encoding,omitempty"`
	// Headers replace the recorded headers, [name, value] pairs in order.
	Headers *[][2]string `json:"headers,omitempty"`
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	if s.o.Actions.Replay == nil {
		apiError(w, http.StatusNotImplemented, "this inspector cannot replay")
		return
	}
	var req ReplayRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			apiError(w, http.StatusBadRequest, "reading the request: "+err.Error())
			return
		}
	}
	id := r.PathValue("id")
	orig, err := s.o.Actions.Get(r.Context(), id)
	if err != nil {
		s.getError(w, err)
		return
	}
	var body []byte
	if req.Body != nil {
		switch req.BodyEncoding {
		case "":
			body = []byte(*req.Body)
		case "base64":
			if body, err = base64.StdEncoding.DecodeString(*req.Body); err != nil {
				apiError(w, http.StatusBadRequest, "body: not base64: "+err.Error())
				return
			}
		default:
			apiError(w, http.StatusBadRequest, fmt.Sprintf("body_encoding %q: want base64 or nothing", req.BodyEncoding))
			return
		}
		if json.Valid(orig.Body) && !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			apiError(w, http.StatusBadRequest, "body: the original is JSON and the edit is not: "+err.Error())
			return
		}
	}
	var header http.Header
	if req.Headers != nil {
		if header, err = parseHeaders(*req.Headers); err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	c, err := s.o.Actions.Replay(r.Context(), orig.ID, body, header)
	if err != nil && c == nil {
		apiError(w, http.StatusUnprocessableEntity, "replay: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.detail(r, c))
}

// parseHeaders checks edited headers: names are tokens, values carry no
// CR, LF or NUL.
func parseHeaders(pairs [][2]string) (http.Header, error) {
	h := http.Header{}
	for _, p := range pairs {
		k, v := strings.TrimSpace(p[0]), strings.TrimSpace(p[1])
		if k == "" || !validToken(k) {
			return nil, fmt.Errorf("header name %q is not valid", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("header %s: the value holds a line break or NUL", k)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	return h, nil
}

func validToken(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// maxExport bounds one HAR download.
const maxExport = 10000

func (s *Server) har(w http.ResponseWriter, r *http.Request) {
	if s.o.Actions.ListFull == nil {
		apiError(w, http.StatusNotImplemented, "this inspector cannot export")
		return
	}
	var cs []*capture.Capture
	name := "omega-listen.har"
	if id := r.URL.Query().Get("id"); id != "" {
		c, err := s.o.Actions.Get(r.Context(), id)
		if err != nil {
			s.getError(w, err)
			return
		}
		cs = []*capture.Capture{c}
		name = "omega-listen-" + c.ID + ".har"
	} else {
		q, err := s.query(r)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		q.Newest, q.Limit = true, maxExport
		if cs, err = s.o.Actions.ListFull(r.Context(), q); err != nil {
			apiError(w, http.StatusInternalServerError, "reading the store: "+err.Error())
			return
		}
	}
	var buf bytes.Buffer
	if err := capture.WriteHAR(&buf, cs, s.o.Creator); err != nil {
		apiError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(buf.Bytes())
}
