package capture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

// MinPrefix is the shortest ID prefix Get accepts.
const MinPrefix = 4

var (
	// ErrNotFound: no capture has the ID (or ID prefix) asked for.
	ErrNotFound = errors.New("capture not found")
	// ErrAmbiguous: more than one capture ID starts with the prefix asked for.
	ErrAmbiguous = errors.New("capture ID prefix is ambiguous")
)

// Query selects captures. The zero Query selects all of them, oldest first.
// Conditions combine with AND.
type Query struct {
	AfterSeq  int64 // only Seq > AfterSeq (when not 0)
	BeforeSeq int64 // only Seq < BeforeSeq (when not 0)
	// Limit caps how many are selected (0: no cap). They are the oldest
	// that match, or with Newest the newest.
	Limit int
	// Newest orders newest first (by Seq), so Limit keeps the latest.
	Newest bool
	// Types keeps captures whose EventType is one of these.
	Types []string
	// TypePrefixes keeps captures whose EventType starts with one of these.
	TypePrefixes []string
	// Failed keeps captures whose Outcome is OutcomeAppError or OutcomeFailed.
	Failed bool
	// Outcomes and StatusClasses select by result; when either is set, a
	// capture passes if one of them keeps it. Outcomes keeps captures whose
	// Outcome is one of these. StatusClasses keeps captures the app
	// answered (OutcomeOK or OutcomeAppError) with a status in one of these
	// hundreds: 2 for 2xx, 5 for 5xx.
	Outcomes      []Outcome
	StatusClasses []int
	// Since keeps captures received at or after this time (when not zero).
	Since     time.Time
	SessionID string
	// NotSessionID keeps captures whose SessionID is not this one.
	NotSessionID string
	ReplayOf     string
	// EventID keeps captures whose envelope's event id is exactly this.
	EventID string
	// IDs keeps captures with exactly these IDs.
	IDs []string
	// Text keeps captures whose request body contains this byte string
	// (case-sensitive).
	Text string
}

// Summary is a Capture without its headers and bodies, for lists: its
// Meta, and the sizes of its bodies.
type Summary struct {
	Meta

	BodySize     int `json:"body_size"`
	RespBodySize int `json:"response_body_size,omitempty"`

	// QueuedAt is when the relay accepted a queued delivery (FlagQueued).
	// Known from the capture's headers, so zero in summaries read from
	// the index.
	QueuedAt time.Time `json:"queued_at,omitzero"`
}

// Summary returns c without its headers and bodies.
func (c *Capture) Summary() Summary {
	return Summary{Meta: c.Meta, BodySize: len(c.Body), RespBodySize: len(c.RespBody), QueuedAt: c.QueuedAt()}
}

// where renders q as a WHERE clause (possibly empty) with its arguments,
// for the store in dir.
func (q Query) where(dir string) (string, []any) {
	var conds []string
	var args []any
	if q.AfterSeq != 0 {
		conds = append(conds, "seq > ?")
		args = append(args, q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		conds = append(conds, "seq < ?")
		args = append(args, q.BeforeSeq)
	}
	if len(q.Types) > 0 {
		conds = append(conds, "event_type IN ("+placeholders(len(q.Types))+")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if len(q.TypePrefixes) > 0 {
		var or []string
		for _, p := range q.TypePrefixes {
			or = append(or, "substr(event_type, 1, length(?)) = ?")
			args = append(args, p, p)
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if q.Failed {
		conds = append(conds, "("+outcomeSQL(OutcomeFailed)+" OR "+outcomeSQL(OutcomeAppError)+")")
	}
	if len(q.Outcomes)+len(q.StatusClasses) > 0 {
		var or []string
		for _, o := range q.Outcomes {
			or = append(or, outcomeSQL(o))
		}
		for _, k := range q.StatusClasses {
			or = append(or, fmt.Sprintf("(%s AND status BETWEEN %d AND %d)", answeredSQL, k*100, k*100+99))
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if !q.Since.IsZero() {
		conds = append(conds, "received_at >= ?")
		args = append(args, timeArg(q.Since))
	}
	if q.SessionID != "" {
		conds = append(conds, "session_id = ?")
		args = append(args, q.SessionID)
	}
	if q.NotSessionID != "" {
		conds = append(conds, "session_id != ?")
		args = append(args, q.NotSessionID)
	}
	if q.ReplayOf != "" {
		conds = append(conds, "replay_of = ?")
		args = append(args, q.ReplayOf)
	}
	if q.EventID != "" {
		conds = append(conds, "event_id = ?")
		args = append(args, q.EventID)
	}
	if len(q.IDs) > 0 {
		conds = append(conds, "id IN ("+placeholders(len(q.IDs))+")")
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	if q.Text != "" {
		// A row a version 1 store wrote has its body in the table.
		conds = append(conds, "CASE WHEN req_seg IS NULL THEN coalesce(instr(body, ?), 0) > 0 ELSE "+
			bodyContainsFunc+"(?, "+reqSegName+", req_off, req_len, ?) END")
		args = append(args, []byte(q.Text), dir, []byte(q.Text))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// MatchesSummary reports whether s passes q's TypePrefixes, Outcomes and
// StatusClasses: the conditions a summary answers by itself, decided as
// the store's SQL decides them. The other fields are not looked at. It is
// for callers that hold rows in memory and must agree with the store.
func (q Query) MatchesSummary(s *Summary) bool {
	if len(q.TypePrefixes) > 0 && !slices.ContainsFunc(q.TypePrefixes, func(p string) bool { return strings.HasPrefix(s.EventType, p) }) {
		return false
	}
	if len(q.Outcomes)+len(q.StatusClasses) == 0 {
		return true
	}
	o := s.Outcome()
	answered := o == OutcomeOK || o == OutcomeAppError
	return slices.Contains(q.Outcomes, o) || answered && slices.Contains(q.StatusClasses, s.Status/100)
}

// Capture.Outcome in SQL, case by case.
var (
	notRejectedSQL = fmt.Sprintf("flags & %d = 0", FlagRejected)
	doneSQL        = fmt.Sprintf("%s AND state = '%s'", notRejectedSQL, StateDone)
	answeredSQL    = doneSQL + " AND error = '' AND status != 0"
)

func outcomeSQL(o Outcome) string {
	switch o {
	case OutcomeRejected:
		return fmt.Sprintf("(flags & %d != 0)", FlagRejected)
	case OutcomePending:
		return fmt.Sprintf("(%s AND state NOT IN ('%s', '%s'))", notRejectedSQL, StateDone, StateInterrupted)
	case OutcomeFailed:
		return fmt.Sprintf("(%s AND state = '%s' OR %s AND (error != '' OR status = 0))", notRejectedSQL, StateInterrupted, doneSQL)
	case OutcomeOK:
		return "(" + answeredSQL + " AND status BETWEEN 200 AND 299)"
	case OutcomeAppError:
		return "(" + answeredSQL + " AND status NOT BETWEEN 200 AND 299)"
	}
	return "0" // no capture has an unknown outcome
}

// tail renders q's order and limit.
func (q Query) tail() string {
	s := " ORDER BY seq"
	if q.Newest {
		s += " DESC"
	}
	if q.Limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return s
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Get returns the capture ref names (see Resolve).
func (s *Store) Get(ctx context.Context, ref string) (*Capture, error) {
	c, _, err := s.Resolve(ctx, ref)
	return c, err
}

// Resolve returns the capture ref names: a capture ID, an Omega event ID,
// or a prefix of either (at least MinPrefix characters; a capture ID's
// with or without the "c_", in either case). An event names its newest
// capture (the latest delivery or replay of it). When ref is not a whole
// capture ID, note says in words what was picked, for the user. It fails
// with an error wrapping ErrNotFound, or ErrAmbiguous when a prefix fits
// more than one capture or event.
func (s *Store) Resolve(ctx context.Context, ref string) (c *Capture, note string, err error) {
	if err := s.Flush(ctx); err != nil {
		return nil, "", err
	}
	c, err = s.getExact(ctx, ref)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return c, "", err
	}
	if ev := strings.ToLower(ref); ev != "" {
		n, newest, err := s.eventCaptures(ctx, ev)
		if err != nil {
			return nil, "", err
		}
		if n > 0 {
			c, err := s.getExact(ctx, newest)
			return c, eventNote(ev, n, newest), err
		}
	}
	if len(ref) < MinPrefix {
		return nil, "", fmt.Errorf("%w: %q (give a whole capture or event ID, or at least %d characters of one)", ErrNotFound, ref, MinPrefix)
	}
	var ids []string
	prefixes := []string{ref}
	lower := strings.ToLower(ref)
	if lower != ref {
		prefixes = append(prefixes, lower)
	}
	if !strings.HasPrefix(lower, idPrefix) {
		prefixes = append(prefixes, idPrefix+lower)
	}
	for _, p := range prefixes {
		if ids, err = s.idsWithPrefix(ctx, p, 5); err != nil {
			return nil, "", err
		}
		if len(ids) > 0 {
			break
		}
	}
	events, err := s.eventsWithPrefix(ctx, lower, 5)
	if err != nil {
		return nil, "", err
	}
	switch {
	case len(ids) == 1 && len(events) == 0:
		c, err := s.getExact(ctx, ids[0])
		return c, fmt.Sprintf("%s is capture %s", ref, ids[0]), err
	case len(ids) == 0 && len(events) == 1:
		n, newest, err := s.eventCaptures(ctx, events[0])
		if err != nil {
			return nil, "", err
		}
		c, err := s.getExact(ctx, newest)
		return c, eventNote(events[0], n, newest), err
	case len(ids)+len(events) > 1:
		var all []string
		for _, id := range ids {
			all = append(all, "capture "+id)
		}
		for _, e := range events {
			all = append(all, "event "+e)
		}
		return nil, "", fmt.Errorf("%w: %q fits %s: give more of it", ErrAmbiguous, ref, strings.Join(all, ", "))
	}
	return nil, "", fmt.Errorf("%w: %q is no capture or event ID in the store (list them with `omega-listen captures list`)", ErrNotFound, ref)
}

func eventNote(ev string, n int, newest string) string {
	if n == 1 {
		return fmt.Sprintf("event %s: its capture is %s", ev, newest)
	}
	return fmt.Sprintf("event %s has %d captures: picked the newest, %s", ev, n, newest)
}

// eventCaptures counts the captures of event ev and names the newest.
func (s *Store) eventCaptures(ctx context.Context, ev string) (n int, newest string, err error) {
	var id sql.NullString
	err = s.db.QueryRowContext(ctx, "SELECT count(*), (SELECT id FROM captures WHERE event_id = ?1 ORDER BY seq DESC LIMIT 1) FROM captures WHERE event_id = ?1", ev).Scan(&n, &id)
	if err != nil {
		return 0, "", s.dbError("find the captures of event "+ev, err)
	}
	return n, id.String, nil
}

// eventsWithPrefix returns up to limit distinct event IDs starting with p.
func (s *Store) eventsWithPrefix(ctx context.Context, p string, limit int) ([]string, error) {
	q, args := "SELECT DISTINCT event_id FROM captures WHERE event_id >= ? AND event_id != ''", []any{p}
	if end := prefixEnd(p); end != "" {
		q += " AND event_id < ?"
		args = append(args, end)
	}
	q += fmt.Sprintf(" ORDER BY event_id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.dbError("find event "+p, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.dbError("find event "+p, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError("find event "+p, err)
	}
	return out, nil
}

func (s *Store) getExact(ctx context.Context, id string) (*Capture, error) {
	caps, err := s.readFull(ctx, "SELECT "+allColumns+" FROM captures WHERE id = ?", id)
	if err != nil {
		return nil, s.dbError("get capture "+id, err)
	}
	if len(caps) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return caps[0], nil
}

// readFull runs a query of allColumns and reads the headers and bodies of
// the captures it selects from their segment files.
func (s *Store) readFull(ctx context.Context, query string, args ...any) ([]*Capture, error) {
	caps, refs, err := s.queryFull(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	sf := segmentFiles{journal.Files{Dir: s.dir}}
	defer sf.Close()
	out := caps[:0]
	for i, c := range caps {
		r := refs[i]
		for attempt := 0; ; attempt++ {
			err := sf.readBlobs(c, r)
			if err == nil {
				out = append(out, c)
				break
			}
			if !errors.Is(err, journal.ErrGone) || attempt == 2 {
				return nil, err
			}
			// Since the query, the capture was pruned or deleted (and its
			// file with it, which happens only once no row refers to it),
			// or overwritten: look again.
			again, arefs, err := s.queryFull(ctx, "SELECT "+allColumns+" FROM captures WHERE id = ?", c.ID)
			if err != nil {
				return nil, err
			}
			if len(again) == 0 {
				break // gone: as if read a moment later
			}
			c, r = again[0], arefs[0]
		}
	}
	return out, nil
}

func (s *Store) queryFull(ctx context.Context, query string, args ...any) ([]*Capture, []blobRefs, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var caps []*Capture
	var refs []blobRefs
	for rows.Next() {
		c, r, err := scanCapture(rows)
		if err != nil {
			return nil, nil, err
		}
		caps, refs = append(caps, c), append(refs, r)
	}
	return caps, refs, rows.Err()
}

// readBlobs reads c's headers and bodies where refs say they are.
func (sf *segmentFiles) readBlobs(c *Capture, refs blobRefs) error {
	for _, side := range []struct {
		ref  blobRef
		h    *http.Header
		body *[]byte
		what string
	}{{refs.req, &c.Headers, &c.Body, "request"}, {refs.resp, &c.RespHeaders, &c.RespBody, "response"}} {
		if !side.ref.seg.Valid {
			continue
		}
		if !side.ref.name.Valid {
			return fmt.Errorf("capture %s %s: %w: segment %d is not in the index", c.ID, side.what, journal.ErrGone, side.ref.seg.Int64)
		}
		h, body, err := sf.read(side.ref.name.String, side.ref.off, side.ref.n)
		if err != nil {
			return fmt.Errorf("capture %s %s: %w", c.ID, side.what, err)
		}
		*side.h, *side.body = h, body
	}
	return nil
}

func (s *Store) idsWithPrefix(ctx context.Context, p string, limit int) ([]string, error) {
	q, args := "SELECT id FROM captures WHERE id >= ?", []any{p}
	if end := prefixEnd(p); end != "" {
		q += " AND id < ?"
		args = append(args, end)
	}
	q += fmt.Sprintf(" ORDER BY id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.dbError("find capture "+p, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.dbError("find capture "+p, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError("find capture "+p, err)
	}
	return ids, nil
}

// List returns summaries of the captures q selects, in Seq order (newest
// first with q.Newest).
func (s *Store) List(ctx context.Context, q Query) ([]Summary, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	where, args := q.where(s.dir)
	rows, err := s.db.QueryContext(ctx, "SELECT "+summaryColumns+" FROM captures"+where+q.tail(), args...)
	if err != nil {
		return nil, s.dbError("list captures", err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		m, err := scanSummary(rows)
		if err != nil {
			return nil, s.dbError("list captures", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError("list captures", err)
	}
	return out, nil
}

// ListFull is List with whole captures, headers and bodies included.
func (s *Store) ListFull(ctx context.Context, q Query) ([]*Capture, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	where, args := q.where(s.dir)
	caps, err := s.readFull(ctx, "SELECT "+allColumns+" FROM captures"+where+q.tail(), args...)
	if err != nil {
		return nil, s.dbError("list captures", err)
	}
	return caps, nil
}

// Count returns how many captures q selects.
func (s *Store) Count(ctx context.Context, q Query) (int, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	where, args := q.where(s.dir)
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT seq FROM captures"+where+q.tail()+")", args...).Scan(&n)
	if err != nil {
		return 0, s.dbError("count captures", err)
	}
	return n, nil
}

// Delete deletes the captures q selects and returns how many it deleted.
// The zero Query deletes every capture. Their headers and bodies stay on
// disk until no capture in the same segment file is left (see doc.go).
func (s *Store) Delete(ctx context.Context, q Query) (int, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	where, args := q.where(s.dir)
	res, err := s.db.ExecContext(ctx, "DELETE FROM captures WHERE seq IN (SELECT seq FROM captures"+where+q.tail()+")", args...)
	if err != nil {
		return 0, s.dbError("delete captures", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dbError("delete captures", err)
	}
	if n > 0 {
		s.dropSegments(ctx)
	}
	return int(n), nil
}
