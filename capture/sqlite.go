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

// schemaVersion is stored in PRAGMA user_version. Version 1 kept headers
// and bodies in the table; Open migrates such a store in place (see
// migrateV1), and its old rows keep them there.
const schemaVersion = 2

// Seq is the rowid, so reading in store order and pruning the oldest walk
// the table itself. Times are Unix nanoseconds (text RFC 3339 for the rare
// time outside what fits).
//
// A capture's request headers and body, and its response headers and
// body, stay in the journal file they were written to (see journal.Path):
// req_* and resp_* say which segment, where in it and how many bytes, and
// segments names each. Keeping them out of SQLite is most of what makes
// indexing cheap. headers, body, resp_headers and resp_body hold them (as
// JSON and blobs) only in rows a version 1 store wrote.
//
// A segment's max_seq is the highest Seq of a row that has referred to it:
// once every capture up to it is gone, so is every reference, and the file
// may go (see dropSegments).
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
	replay_of      TEXT NOT NULL DEFAULT '',
	req_seg        INTEGER,
	req_off        INTEGER,
	req_len        INTEGER,
	resp_seg       INTEGER,
	resp_off       INTEGER,
	resp_len       INTEGER
);
` + segmentsSchema + indexSchema + `PRAGMA user_version = 2;`

const segmentsSchema = `
CREATE TABLE IF NOT EXISTS segments (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	max_seq INTEGER NOT NULL DEFAULT 0
);
`

// Besides id's, the one index is on the rare replay_of. Listing by event
// type or session scans the table, which at the retention limit (a few
// thousand rows of a few hundred bytes) takes milliseconds, while an index
// costs every insert and every prune: that is, every capture.
const indexSchema = `
CREATE INDEX IF NOT EXISTS captures_replay_of ON captures(replay_of) WHERE replay_of != '';
`

// migrateV1 brings a version 1 store to version 2 without touching its rows.
const migrateV1 = `
ALTER TABLE captures ADD COLUMN req_seg INTEGER;
ALTER TABLE captures ADD COLUMN req_off INTEGER;
ALTER TABLE captures ADD COLUMN req_len INTEGER;
ALTER TABLE captures ADD COLUMN resp_seg INTEGER;
ALTER TABLE captures ADD COLUMN resp_off INTEGER;
ALTER TABLE captures ADD COLUMN resp_len INTEGER;
DROP INDEX IF EXISTS captures_event_type;
DROP INDEX IF EXISTS captures_session;
` + segmentsSchema + indexSchema + `PRAGMA user_version = 2;`

// Column lists, in the order captureArgs and the scanners use.
const (
	// reqSegName and respSegName read the name of a segment a row refers
	// to, in the same statement as the row, so the two agree.
	reqSegName  = `(SELECT name FROM segments WHERE segments.id = captures.req_seg)`
	respSegName = `(SELECT name FROM segments WHERE segments.id = captures.resp_seg)`

	allColumns = `seq, id, session_id, state, received_at, completed_at, remote_addr, method, path,
		headers, body, body_size, event_id, event_type, endpoint_id, event_created, flags,
		reject_reason, target, status, resp_headers, resp_body, resp_body_size, duration_ns,
		error, sent_status, replay_of, req_seg, ` + reqSegName + `, req_off, req_len,
		resp_seg, ` + respSegName + `, resp_off, resp_len`
	summaryColumns = `seq, id, session_id, state, received_at, completed_at, remote_addr, method, path,
		body_size, event_id, event_type, endpoint_id, event_created, flags,
		reject_reason, target, status, resp_body_size, duration_ns,
		error, sent_status, replay_of`

	// recordColumns are what a whole-capture record sets, after seq and id.
	recordColumns = `session_id, state, received_at, completed_at, remote_addr, method, path,
		body_size, event_id, event_type, endpoint_id, event_created, flags, reject_reason, target,
		status, resp_body_size, duration_ns, error, sent_status, replay_of,
		req_seg, req_off, req_len, resp_seg, resp_off, resp_len`
	recordValues = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

	// insertCapture adds a row unless the ID has one: a begin record never
	// overwrites, and for the other kinds apply updates the row instead.
	insertCapture = `INSERT INTO captures (seq, id, ` + recordColumns + `) VALUES (?, ?, ` + recordValues + `)
		ON CONFLICT(id) DO NOTHING`
	// updateRecord overwrites a row with a record's capture, keeping its Seq.
	updateRecord = `UPDATE captures SET (` + recordColumns + `, headers, body, resp_headers, resp_body) =
		(` + recordValues + `, NULL, NULL, NULL, NULL) WHERE id = ? RETURNING seq`
	// updateFinish writes the outcome a finish record carries.
	updateFinish = `UPDATE captures SET target = CASE WHEN ?1 = '' THEN target ELSE ?1 END,
		state = ?, completed_at = ?, flags = ?, status = ?, resp_body_size = ?,
		duration_ns = ?, error = ?, sent_status = ?, resp_seg = ?, resp_off = ?, resp_len = ?,
		resp_headers = NULL, resp_body = NULL WHERE id = ? RETURNING seq`

	// addSegment returns the ID of the named segment, adding it if need be.
	addSegment   = `INSERT INTO segments (name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = name RETURNING id`
	raiseMaxSeq  = `UPDATE segments SET max_seq = max(max_seq, ?) WHERE id = ?`
	countRows    = `SELECT count(*) FROM captures`
	pruneOldest  = `DELETE FROM captures WHERE seq <= (SELECT seq FROM captures ORDER BY seq LIMIT 1 OFFSET ?)`
	unusedSegs   = `SELECT id, name FROM segments WHERE max_seq < coalesce((SELECT min(seq) FROM captures), 9223372036854775807)`
	anyUnused    = `SELECT EXISTS (SELECT 1 FROM segments WHERE max_seq < coalesce((SELECT min(seq) FROM captures), 9223372036854775807))`
	segmentInUse = `SELECT EXISTS (SELECT 1 FROM segments WHERE name = ?)`
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
	if err := registerFuncs(); err != nil {
		return nil, fmt.Errorf("open capture index %s: %w", path, err)
	}
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
	// temp_store keeps the statement journal of each batch's prune in
	// memory rather than in a temporary file created and deleted each time.
	u := url.URL{Scheme: "file", OmitHost: true, Path: abs,
		RawQuery: "_busy_timeout=10000&_pragma=temp_store(memory)&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"}
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
	if v == schemaVersion {
		return nil
	}
	if err := checkVersion(v); err != nil {
		return err
	}
	// Another process may be doing the same: look again inside the
	// transaction (which _txlock makes a write transaction).
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if err := checkVersion(v); err != nil {
		return err
	}
	switch v {
	case 0:
		_, err = tx.Exec(schema)
	case 1:
		_, err = tx.Exec(migrateV1)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func checkVersion(v int) error {
	if v > schemaVersion {
		return &StoreError{Problem: NewerSchema, Schema: v}
	}
	if v < 0 {
		return &StoreError{Problem: UnknownSchema, Schema: v}
	}
	return nil
}

// badDB words an error opening the index so the user knows what to do,
// especially when the file is not a usable database: we never delete it.
func badDB(path string, err error) error {
	switch sqliteCode(err) & 0xff {
	case sqliteCorrupt, sqliteNotADB:
		return &StoreError{Problem: DamagedIndex, Path: path, Err: err}
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
// capture earlier in the batch, so SQLite writes the row once instead of
// inserting and then updating it. That is the common case: a delivery's
// Begin and Finish are usually milliseconds apart. begun is scratch space.
func coalesce(recs []journalRecord, begun map[string]int) []journalRecord {
	clear(begun)
	out := recs[:0]
	for _, r := range recs {
		switch r.kind {
		case kindBegin:
			begun[r.c.ID] = len(out)
		case kindFinish:
			if i, ok := begun[r.c.ID]; ok {
				setOutcome(&out[i].c, &r.c)
				out[i].resp = r.resp
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
	stmts map[string]*sql.Stmt
}

func (s *Store) indexConn(ctx context.Context) (*indexConn, error) {
	if s.ix != nil {
		return s.ix, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.dbError("connect indexer", err)
	}
	ix := &indexConn{conn: conn, stmts: make(map[string]*sql.Stmt, 8)}
	for _, q := range []string{insertCapture, updateRecord, updateFinish, addSegment, raiseMaxSeq, countRows, pruneOldest, anyUnused} {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			ix.close()
			return nil, s.dbError("prepare index statement", err)
		}
		ix.stmts[q] = st
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

// apply writes journal records read from segment seg to the index in one
// transaction and prunes beyond the retention limit. The records' blobs
// are where they are in seg's file. Only one goroutine at a time may call
// it (Open, then the indexer).
func (s *Store) apply(seg string, recs []journalRecord) (err error) {
	if s.begun == nil {
		s.begun = make(map[string]int)
	}
	recs = coalesce(recs, s.begun)
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
	var (
		segID  int64
		maxSeq int64 // of the rows that now refer to seg
		added  int
	)
	for i := range recs {
		r := &recs[i]
		if segID == 0 && (r.req.n > 0 || r.resp.n > 0) {
			if err = ix.stmts[addSegment].QueryRowContext(ctx, seg).Scan(&segID); err != nil {
				return s.dbError("add segment "+seg, err)
			}
		}
		seq, inserted, err := s.applyRecord(ctx, ix, r, segID)
		if err != nil {
			return s.dbError("index capture "+r.c.ID, err)
		}
		if inserted {
			added++
		}
		if seq != 0 && (r.req.n > 0 || r.resp.n > 0) {
			maxSeq = max(maxSeq, seq)
		}
	}
	switch {
	case maxSeq != 0:
		_, err = ix.stmts[raiseMaxSeq].ExecContext(ctx, maxSeq, segID)
	case segID != 0:
		// No row refers to seg after all (finish records for captures that
		// are gone): forget it, unless an earlier batch's rows refer to it.
		_, err = ix.conn.ExecContext(ctx, "DELETE FROM segments WHERE id = ? AND max_seq = 0", segID)
	}
	if err != nil {
		return s.dbError("record segment "+seg, err)
	}
	rows, pruned, err := s.prune(ctx, ix, s.rows+added)
	if err != nil {
		return err
	}
	drop := false
	if pruned {
		// Asked here, on a prepared statement, as it is asked after
		// nearly every batch once the store is full, and is nearly
		// always false.
		if err = ix.stmts[anyUnused].QueryRowContext(ctx).Scan(&drop); err != nil {
			return s.dbError("find unused segments", err)
		}
	}
	if _, err = ix.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return s.dbError("commit index transaction", err)
	}
	s.rows = rows
	if drop {
		s.dropSegments(ctx)
	}
	return nil
}

// applyRecord writes one record. It returns the Seq of the row it wrote
// (0 if it wrote none) and whether that row is new.
func (s *Store) applyRecord(ctx context.Context, ix *indexConn, r *journalRecord, segID int64) (seq int64, inserted bool, err error) {
	c := &r.c
	if r.kind == kindFinish {
		return s.finishRow(ctx, ix, c, r.resp, segID)
	}
	args := captureArgs(c, r.req, r.resp, segID)
	res, err := ix.stmts[insertCapture].ExecContext(ctx, args...)
	if sqliteCode(err) == sqlitePrimaryKey {
		// Another process took this Seq in the same microsecond; place
		// ours after everything indexed.
		if err = ix.conn.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM captures").Scan(&c.Seq); err == nil {
			args[0] = c.Seq
			res, err = ix.stmts[insertCapture].ExecContext(ctx, args...)
		}
	}
	if err != nil {
		return 0, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return c.Seq, true, err
	}
	// The ID has a row.
	switch r.kind {
	case kindRecord:
		err = ix.stmts[updateRecord].QueryRowContext(ctx, append(args[2:len(args):len(args)], c.ID)...).Scan(&seq)
		return seq, false, err
	case kindFinished:
		// A replay: write only the outcome, as the finish record would.
		return s.finishRow(ctx, ix, c, r.resp, segID)
	}
	return 0, false, nil // a begin record never overwrites
}

func (s *Store) finishRow(ctx context.Context, ix *indexConn, c *Capture, resp blob, segID int64) (int64, bool, error) {
	seg, off, n := blobArgs(resp, segID)
	var seq int64
	err := ix.stmts[updateFinish].QueryRowContext(ctx, c.Target, string(c.State), timeArg(c.CompletedAt), int64(c.Flags),
		c.Status, resp.body, int64(c.Duration), c.Error, c.SentStatus, seg, off, n, c.ID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil // its begin record was lost or the capture deleted
	}
	return seq, false, err
}

// prune deletes the oldest captures beyond the retention limit, given that
// the table has about rows rows, and returns the new estimate and whether
// it deleted any. It runs at most once per batch, and counts (cheaply: the
// ID index is small) only when rows may exceed the limit.
func (s *Store) prune(ctx context.Context, ix *indexConn, rows int) (int, bool, error) {
	if s.retain < 0 || rows <= s.retain {
		return rows, false, nil
	}
	// Count rather than trust the estimate: other processes add and delete.
	if err := ix.stmts[countRows].QueryRowContext(ctx).Scan(&rows); err != nil {
		return 0, false, s.dbError("count captures", err)
	}
	if rows <= s.retain {
		return rows, false, nil
	}
	res, err := ix.stmts[pruneOldest].ExecContext(ctx, rows-s.retain-1)
	if err != nil {
		return 0, false, s.dbError("prune captures", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, s.dbError("prune captures", err)
	}
	return rows - int(n), n > 0, nil
}

// captureArgs are the arguments of insertCapture for c, whose blobs are in
// segment segID.
func captureArgs(c *Capture, req, resp blob, segID int64) []any {
	reqSeg, reqOff, reqLen := blobArgs(req, segID)
	respSeg, respOff, respLen := blobArgs(resp, segID)
	return []any{
		c.Seq, c.ID, c.SessionID, string(c.State), timeArg(c.ReceivedAt), timeArg(c.CompletedAt),
		c.RemoteAddr, c.Method, c.Path, req.body,
		c.EventID, c.EventType, c.EndpointID, timeArg(c.EventCreated), int64(c.Flags),
		c.RejectReason, c.Target, c.Status, resp.body,
		int64(c.Duration), c.Error, c.SentStatus, c.ReplayOf,
		reqSeg, reqOff, reqLen, respSeg, respOff, respLen,
	}
}

// blobArgs are a blob's columns: all NULL when it is empty.
func blobArgs(b blob, segID int64) (seg, off, n any) {
	if b.n == 0 {
		return nil, nil, nil
	}
	return segID, b.off, b.n
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

// blobRef is where one side's headers and body are, as a row says.
type blobRef struct {
	seg    sql.NullInt64 // NULL: none (or in the row, for a version 1 row)
	name   sql.NullString
	off, n int64
}

type blobRefs struct{ req, resp blobRef }

// scanCapture reads a row of allColumns. Headers and bodies are left for
// readBlobs unless the row holds them (a version 1 row).
func scanCapture(r rowScanner) (*Capture, blobRefs, error) {
	var (
		c                                  Capture
		refs                               blobRefs
		state                              string
		received, completed, eventCreated  any
		headers, respHeaders               sql.NullString
		bodySize, respBodySize, flags, dur int64
		reqOff, reqLen, respOff, respLen   sql.NullInt64
	)
	err := r.Scan(&c.Seq, &c.ID, &c.SessionID, &state, &received, &completed, &c.RemoteAddr,
		&c.Method, &c.Path, &headers, &c.Body, &bodySize, &c.EventID, &c.EventType, &c.EndpointID,
		&eventCreated, &flags, &c.RejectReason, &c.Target, &c.Status, &respHeaders, &c.RespBody,
		&respBodySize, &dur, &c.Error, &c.SentStatus, &c.ReplayOf,
		&refs.req.seg, &refs.req.name, &reqOff, &reqLen, &refs.resp.seg, &refs.resp.name, &respOff, &respLen)
	if err != nil {
		return nil, refs, err
	}
	refs.req.off, refs.req.n = reqOff.Int64, reqLen.Int64
	refs.resp.off, refs.resp.n = respOff.Int64, respLen.Int64
	c.State, c.Flags, c.Duration = State(state), Flags(flags), time.Duration(dur)
	if len(c.Body) == 0 {
		c.Body = nil
	}
	if len(c.RespBody) == 0 {
		c.RespBody = nil
	}
	if c.Headers, err = headerFromDB(headers); err != nil {
		return nil, refs, fmt.Errorf("capture %s headers: %w", c.ID, err)
	}
	if c.RespHeaders, err = headerFromDB(respHeaders); err != nil {
		return nil, refs, fmt.Errorf("capture %s response headers: %w", c.ID, err)
	}
	if err := scanTimes(c.ID, &c.ReceivedAt, &c.CompletedAt, &c.EventCreated, received, completed, eventCreated); err != nil {
		return nil, refs, err
	}
	return &c, refs, nil
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
