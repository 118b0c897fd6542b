package capture

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 1

// Seq is the rowid, so reading in store order and pruning the oldest walk
// the table itself. Times are Unix nanoseconds (text RFC 3339 for the rare
// time outside what fits); headers are JSON so the file is easy to inspect
// with the sqlite3 shell.
const schema = `
CREATE TABLE IF NOT EXISTS captures (
	seq            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE,
	session_id     TEXT NOT NULL DEFAULT '',
	state          TEXT NOT NULL DEFAULT '',
	received_at    INTEGER,
	completed_at   INTEGER,
	remote_addr    TEXT NOT NULL DEFAULT '',
	method         TEXT NOT NULL DEFAULT '',
	path           TEXT NOT NULL DEFAULT '',
	headers        TEXT,
	body           BLOB,
	body_size      INTEGER NOT NULL DEFAULT 0,
	event_id       TEXT NOT NULL DEFAULT '',
	event_type     TEXT NOT NULL DEFAULT '',
	endpoint_id    TEXT NOT NULL DEFAULT '',
	event_created  INTEGER,
	flags          INTEGER NOT NULL DEFAULT 0,
	reject_reason  TEXT NOT NULL DEFAULT '',
	target         TEXT NOT NULL DEFAULT '',
	status         INTEGER NOT NULL DEFAULT 0,
	resp_headers   TEXT,
	resp_body      BLOB,
	resp_body_size INTEGER NOT NULL DEFAULT 0,
	duration_ns    INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	sent_status    INTEGER NOT NULL DEFAULT 0,
	replay_of      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS captures_event_type ON captures(event_type, seq);
CREATE INDEX IF NOT EXISTS captures_session ON captures(session_id, seq) WHERE session_id != '';
CREATE INDEX IF NOT EXISTS captures_replay_of ON captures(replay_of) WHERE replay_of != '';
PRAGMA user_version = 1;
`

// Column lists, in the order captureArgs and the scanners use.
const (
	allColumns = `seq, id, session_id, state, received_at, completed_at, remote_addr, method, path,
		headers, body, body_size, event_id, event_type, endpoint_id, event_created, flags,
		reject_reason, target, status, resp_headers, resp_body, resp_body_size, duration_ns,
		error, sent_status, replay_of`
	summaryColumns = `seq, id, session_id, state, received_at, completed_at, remote_addr, method, path,
		body_size, event_id, event_type, endpoint_id, event_created, flags,
		reject_reason, target, status, resp_body_size, duration_ns,
		error, sent_status, replay_of`
	insertValues = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	insertBegin  = `INSERT INTO captures (` + allColumns + `) VALUES ` + insertValues + ` ON CONFLICT(id) DO NOTHING`
	insertRecord = `INSERT INTO captures (` + allColumns + `) VALUES ` + insertValues + ` ON CONFLICT(id) DO UPDATE SET
		session_id = excluded.session_id, state = excluded.state, received_at = excluded.received_at,
		completed_at = excluded.completed_at, remote_addr = excluded.remote_addr, method = excluded.method,
		path = excluded.path, headers = excluded.headers, body = excluded.body, body_size = excluded.body_size,
		event_id = excluded.event_id, event_type = excluded.event_type, endpoint_id = excluded.endpoint_id,
		event_created = excluded.event_created, flags = excluded.flags, reject_reason = excluded.reject_reason,
		target = excluded.target, status = excluded.status, resp_headers = excluded.resp_headers,
		resp_body = excluded.resp_body, resp_body_size = excluded.resp_body_size,
		duration_ns = excluded.duration_ns, error = excluded.error, sent_status = excluded.sent_status,
		replay_of = excluded.replay_of`
	// insertFinished writes a begin record with its finish folded in; if
	// the row exists (a replay), only the outcome is written, as a finish
	// record would.
	insertFinished = `INSERT INTO captures (` + allColumns + `) VALUES ` + insertValues + ` ON CONFLICT(id) DO UPDATE SET
		state = excluded.state, completed_at = excluded.completed_at, flags = excluded.flags,
		target = CASE WHEN excluded.target = '' THEN target ELSE excluded.target END,
		status = excluded.status, resp_headers = excluded.resp_headers, resp_body = excluded.resp_body,
		resp_body_size = excluded.resp_body_size, duration_ns = excluded.duration_ns,
		error = excluded.error, sent_status = excluded.sent_status`
	updateFinish = `UPDATE captures SET state = ?, completed_at = ?, flags = ?,
		target = CASE WHEN ? = '' THEN target ELSE ? END, status = ?, resp_headers = ?, resp_body = ?,
		resp_body_size = ?, duration_ns = ?, error = ?, sent_status = ? WHERE id = ?`
)

// SQLite result codes we tell apart (extended codes are on).
const (
	sqliteCorrupt    = 11
	sqliteNotADB     = 26
	sqlitePrimaryKey = 19 | 6<<8 // SQLITE_CONSTRAINT_PRIMARYKEY
)

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// openDB opens (creating, mode 0600) the index and brings its schema up.
func openDB(path string) (*sql.DB, error) {
	// SQLite creates the -wal and -shm files with the mode of the database,
	// so creating the database 0600 ourselves covers all three.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		cerr := f.Chmod(0o600)
		f.Close()
		if cerr != nil {
			return nil, fmt.Errorf("create capture index %s: %w", path, cerr)
		}
	case !errors.Is(err, os.ErrExist):
		return nil, fmt.Errorf("create capture index %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("capture index %s: %w", path, err)
	}
	// 16 KiB pages hold a typical capture (a few KiB of JSON) without
	// overflow pages, which measurably cuts the indexer's work per capture.
	// (page_size only takes effect on a new database.)
	u := url.URL{Scheme: "file", OmitHost: true, Path: abs,
		RawQuery: "_busy_timeout=10000&_pragma=page_size(16384)&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open capture index %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(0)
	if err := initSchema(db); err != nil {
		db.Close()
		return nil, badDB(path, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		// Belt and braces, for a database made by an older SQLite or a
		// hand-run shell: the sidecars hold capture data too.
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("capture index %s%s: %w", path, suffix, err)
		}
	}
	return db, nil
}

func initSchema(db *sql.DB) error {
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("the store was written by a newer omega-listen (schema %d, this one knows %d): upgrade omega-listen or choose another --data-dir", v, schemaVersion)
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	return tx.Commit()
}

// badDB words an error opening the index so the user knows what to do,
// especially when the file is not a usable database: we never delete it.
func badDB(path string, err error) error {
	switch sqliteCode(err) & 0xff {
	case sqliteCorrupt, sqliteNotADB:
		return fmt.Errorf("capture index %s is damaged or not an omega-listen store (%w): move it aside (mv %s %s.bad, and its -wal and -shm files) to start an empty store, or choose another --data-dir",
			path, err, path, path)
	}
	return fmt.Errorf("open capture index %s: %w", path, err)
}

// dbError wraps an error from a query on the index.
func (s *Store) dbError(what string, err error) error {
	switch sqliteCode(err) & 0xff {
	case sqliteCorrupt, sqliteNotADB:
		return badDB(s.dbPath, err)
	}
	return fmt.Errorf("%s in %s: %w", what, s.dbPath, err)
}

// kindFinished is a begin record with its finish folded in (see
// coalesce). It is never written to the journal.
const kindFinished byte = 100

// coalesce folds each finish record into the begin record for the same
// capture earlier in the batch, so SQLite writes the row, body and all,
// once instead of twice. That is the common case: a delivery's Begin and
// Finish are usually milliseconds apart.
func coalesce(recs []journalRecord) []journalRecord {
	begun := make(map[string]int)
	out := recs[:0]
	for _, r := range recs {
		switch r.kind {
		case kindBegin:
			begun[r.c.ID] = len(out)
		case kindFinish:
			if i, ok := begun[r.c.ID]; ok {
				setOutcome(&out[i].c, &r.c)
				out[i].kind = kindFinished
				continue
			}
		default:
			delete(begun, r.c.ID)
		}
		out = append(out, r)
	}
	return out
}

// setOutcome copies the fields a finish record carries from f to c.
func setOutcome(c, f *Capture) {
	c.State, c.CompletedAt, c.Flags = f.State, f.CompletedAt, f.Flags
	if f.Target != "" {
		c.Target = f.Target
	}
	c.Status, c.RespHeaders, c.RespBody = f.Status, f.RespHeaders, f.RespBody
	c.Duration, c.Error, c.SentStatus = f.Duration, f.Error, f.SentStatus
}

// indexConn is the indexer's own connection with its statements prepared
// once: compiling them for each batch would cost more than indexing a
// small batch does.
type indexConn struct {
	conn  *sql.Conn
	stmts map[byte]*sql.Stmt
}

func (s *Store) indexConn(ctx context.Context) (*indexConn, error) {
	if s.ix != nil {
		return s.ix, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.dbError("connect indexer", err)
	}
	ix := &indexConn{conn: conn, stmts: make(map[byte]*sql.Stmt, 4)}
	for kind, q := range map[byte]string{kindBegin: insertBegin, kindRecord: insertRecord, kindFinished: insertFinished, kindFinish: updateFinish} {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			ix.close()
			return nil, s.dbError("prepare index statement", err)
		}
		ix.stmts[kind] = st
	}
	s.ix = ix
	return ix, nil
}

func (ix *indexConn) close() {
	for _, st := range ix.stmts {
		st.Close()
	}
	ix.conn.Close()
}

// closeIndexConn releases the indexer's connection (the indexer must have
// stopped).
func (s *Store) closeIndexConn() {
	if s.ix != nil {
		s.ix.close()
		s.ix = nil
	}
}

// apply writes journal records to the index in one transaction and prunes
// beyond the retention limit. Only one goroutine at a time may call it
// (Open, then the indexer).
func (s *Store) apply(recs []journalRecord) (err error) {
	recs = coalesce(recs)
	if len(recs) == 0 {
		return nil
	}
	ctx := context.Background()
	ix, err := s.indexConn(ctx)
	if err != nil {
		return err
	}
	if _, err := ix.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.closeIndexConn() // start afresh next time, in case the connection is the trouble
		return s.dbError("begin index transaction", err)
	}
	defer func() {
		if err != nil {
			if _, rerr := ix.conn.ExecContext(ctx, "ROLLBACK"); rerr != nil {
				s.closeIndexConn()
			}
		}
	}()
	added := 0
	for i := range recs {
		r := &recs[i]
		c := &r.c
		st := ix.stmts[r.kind]
		var res sql.Result
		if r.kind == kindFinish {
			res, err = st.ExecContext(ctx, string(c.State), timeArg(c.CompletedAt), int64(c.Flags),
				c.Target, c.Target, c.Status, headerArg(c.RespHeaders), c.RespBody,
				len(c.RespBody), int64(c.Duration), c.Error, c.SentStatus, c.ID)
		} else {
			res, err = st.ExecContext(ctx, captureArgs(c)...)
			if sqliteCode(err) == sqlitePrimaryKey {
				// Another process took this Seq in the same microsecond;
				// place ours after everything indexed.
				if err = ix.conn.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM captures").Scan(&c.Seq); err == nil {
					res, err = st.ExecContext(ctx, captureArgs(c)...)
				}
			}
		}
		if err != nil {
			return s.dbError("index capture "+c.ID, err)
		}
		if r.kind != kindFinish {
			if n, _ := res.RowsAffected(); n > 0 {
				added++
			}
		}
	}
	rows := s.rows + added
	if rows, err = s.prune(ctx, ix.conn, rows); err != nil {
		return err
	}
	if _, err = ix.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return s.dbError("commit index transaction", err)
	}
	s.rows = rows
	return nil
}

// prune deletes the oldest captures beyond the retention limit, given that
// the table has about rows rows, and returns the new estimate. It runs at
// most once per batch, and queries only when rows may exceed the limit.
func (s *Store) prune(ctx context.Context, conn *sql.Conn, rows int) (int, error) {
	if s.retain < 0 || rows <= s.retain {
		return rows, nil
	}
	var cut int64
	err := conn.QueryRowContext(ctx, "SELECT seq FROM captures ORDER BY seq DESC LIMIT 1 OFFSET ?", s.retain).Scan(&cut)
	if errors.Is(err, sql.ErrNoRows) {
		// Fewer than we thought (another process pruned, or a user deleted).
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM captures").Scan(&rows); err != nil {
			return 0, s.dbError("count captures", err)
		}
		return rows, nil
	}
	if err != nil {
		return 0, s.dbError("find captures to prune", err)
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM captures WHERE seq <= ?", cut); err != nil {
		return 0, s.dbError("prune captures", err)
	}
	return s.retain, nil
}

func captureArgs(c *Capture) []any {
	return []any{
		c.Seq, c.ID, c.SessionID, string(c.State), timeArg(c.ReceivedAt), timeArg(c.CompletedAt),
		c.RemoteAddr, c.Method, c.Path, headerArg(c.Headers), c.Body, len(c.Body),
		c.EventID, c.EventType, c.EndpointID, timeArg(c.EventCreated), int64(c.Flags),
		c.RejectReason, c.Target, c.Status, headerArg(c.RespHeaders), c.RespBody, len(c.RespBody),
		int64(c.Duration), c.Error, c.SentStatus, c.ReplayOf,
	}
}

// timeArg stores t as Unix nanoseconds, or as RFC 3339 text when it is
// outside the years nanoseconds since 1970 can count; zero is NULL.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if y := t.Year(); y > 1678 && y < 2262 {
		return t.UnixNano()
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func timeFromDB(v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case int64:
		return time.Unix(0, v), nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t.Local(), err
	case []byte:
		t, err := time.Parse(time.RFC3339Nano, string(v))
		return t.Local(), err
	default:
		return time.Time{}, fmt.Errorf("unexpected time value %T", v)
	}
}

func headerArg(h http.Header) any {
	if len(h) == 0 {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil // a map of string slices always marshals
	}
	return string(b)
}

func headerFromDB(v sql.NullString) (http.Header, error) {
	if !v.Valid || v.String == "" {
		return nil, nil
	}
	var h http.Header
	if err := json.Unmarshal([]byte(v.String), &h); err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanCapture reads a row of allColumns.
func scanCapture(r rowScanner) (*Capture, error) {
	var (
		c                                  Capture
		state                              string
		received, completed, eventCreated  any
		headers, respHeaders               sql.NullString
		bodySize, respBodySize, flags, dur int64
	)
	err := r.Scan(&c.Seq, &c.ID, &c.SessionID, &state, &received, &completed, &c.RemoteAddr,
		&c.Method, &c.Path, &headers, &c.Body, &bodySize, &c.EventID, &c.EventType, &c.EndpointID,
		&eventCreated, &flags, &c.RejectReason, &c.Target, &c.Status, &respHeaders, &c.RespBody,
		&respBodySize, &dur, &c.Error, &c.SentStatus, &c.ReplayOf)
	if err != nil {
		return nil, err
	}
	c.State, c.Flags, c.Duration = State(state), Flags(flags), time.Duration(dur)
	if len(c.Body) == 0 {
		c.Body = nil
	}
	if len(c.RespBody) == 0 {
		c.RespBody = nil
	}
	if c.Headers, err = headerFromDB(headers); err != nil {
		return nil, fmt.Errorf("capture %s headers: %w", c.ID, err)
	}
	if c.RespHeaders, err = headerFromDB(respHeaders); err != nil {
		return nil, fmt.Errorf("capture %s response headers: %w", c.ID, err)
	}
	if err := scanTimes(c.ID, &c.ReceivedAt, &c.CompletedAt, &c.EventCreated, received, completed, eventCreated); err != nil {
		return nil, err
	}
	return &c, nil
}

// scanSummary reads a row of summaryColumns.
func scanSummary(r rowScanner) (Summary, error) {
	var (
		m                                 Summary
		state                             string
		received, completed, eventCreated any
		flags, dur                        int64
	)
	err := r.Scan(&m.Seq, &m.ID, &m.SessionID, &state, &received, &completed, &m.RemoteAddr,
		&m.Method, &m.Path, &m.BodySize, &m.EventID, &m.EventType, &m.EndpointID,
		&eventCreated, &flags, &m.RejectReason, &m.Target, &m.Status,
		&m.RespBodySize, &dur, &m.Error, &m.SentStatus, &m.ReplayOf)
	if err != nil {
		return Summary{}, err
	}
	m.State, m.Flags, m.Duration = State(state), Flags(flags), time.Duration(dur)
	if err := scanTimes(m.ID, &m.ReceivedAt, &m.CompletedAt, &m.EventCreated, received, completed, eventCreated); err != nil {
		return Summary{}, err
	}
	return m, nil
}

func scanTimes(id string, rec, comp, ev *time.Time, recV, compV, evV any) error {
	var err error
	if *rec, err = timeFromDB(recV); err != nil {
		return fmt.Errorf("capture %s received_at: %w", id, err)
	}
	if *comp, err = timeFromDB(compV); err != nil {
		return fmt.Errorf("capture %s completed_at: %w", id, err)
	}
	if *ev, err = timeFromDB(evV); err != nil {
		return fmt.Errorf("capture %s event_created: %w", id, err)
	}
	return nil
}

// prefixEnd returns the smallest string greater than every string that
// starts with p, or "" if there is none.
func prefixEnd(p string) string {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return ""
	}
	b[len(b)-1]++
	return string(b)
}
