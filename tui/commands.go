package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// Messages the program sends itself.
type (
	// deliveriesMsg is a burst of bus events, from Bridge.
	deliveriesMsg struct {
		rows []capture.Summary
		// lagged: events were dropped; re-read from the store every
		// capture with Seq >= lagFrom (0: this session's, all of them).
		lagged  bool
		lagFrom int64
	}
	historyMsg struct {
		rows  []capture.Summary // oldest first
		err   error
		limit int
		older bool // a page before the first row, not the start
	}
	catchupMsg struct {
		rows []capture.Summary
		err  error
	}
	filterMsg struct {
		gen     int
		rows    []capture.Summary // oldest first
		err     error
		after   int64
		whole   bool // the newest matches in the whole store (not only after a Seq)
		older   bool // a page before the first filtered row
		recheck bool // rows asked for by ID, whose status changed
	}
	detailMsg struct {
		id  string
		c   *capture.Capture
		err error
	}
	replaysMsg struct {
		id   string
		rows []capture.Summary
		err  error
	}
	replayDoneMsg struct {
		orig   string
		c      *capture.Capture
		err    error
		edited bool
	}
	editReadyMsg struct {
		id, path string
		orig     []byte
	}
	editDoneMsg struct {
		id, path string
		orig     []byte
		err      error
	}
	clipMsg struct {
		what, text string
	}
	statusMsg struct {
		text  string
		isErr bool
	}
	clearStatusMsg struct{ gen int }
)

// notAvailable says a feature is missing because its action was not given.
func notAvailable(what string) tea.Msg {
	return statusMsg{text: what + " not available", isErr: true}
}

// listCmd calls Actions.List and turns the rows (oldest first, whatever
// order q asked the store for) into a message.
func (m *Model) listCmd(q capture.Query, wrap func([]capture.Summary, error) tea.Msg) tea.Cmd {
	list, ctx := m.act.List, m.ctx
	if list == nil {
		return func() tea.Msg { return wrap(nil, nil) }
	}
	return func() tea.Msg {
		rows, err := list(ctx, q)
		if err != nil {
			return wrap(nil, fmt.Errorf("read the store: %w", err))
		}
		if q.Newest {
			for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
				rows[i], rows[j] = rows[j], rows[i]
			}
		}
		return wrap(rows, nil)
	}
}

func (m *Model) loadCmd(id string) tea.Cmd {
	load, ctx := m.act.Load, m.ctx
	return func() tea.Msg {
		c, err := load(ctx, id)
		return detailMsg{id: id, c: c, err: err}
	}
}

func (m *Model) replayCmd(id string, body []byte, edited bool) tea.Cmd {
	replay, ctx := m.act.Replay, m.ctx
	return func() tea.Msg {
		c, err := replay(ctx, id, body)
		return replayDoneMsg{orig: id, c: c, err: err, edited: edited}
	}
}

// withCapture loads the capture (unless the detail view already holds it)
// and turns it into a message, in a Cmd.
func (m *Model) withCapture(id string, fn func(*capture.Capture) tea.Msg) tea.Cmd {
	if m.det.c != nil && m.det.c.ID == id {
		c := m.det.c
		return func() tea.Msg { return fn(c) }
	}
	load, ctx := m.act.Load, m.ctx
	if load == nil {
		return func() tea.Msg { return notAvailable("reading captures") }
	}
	return func() tea.Msg {
		c, err := load(ctx, id)
		if err != nil {
			return statusMsg{text: fmt.Sprintf("could not read %s: %v", id, err), isErr: true}
		}
		return fn(c)
	}
}

// prepareEdit writes the body to a private temp file for the editor.
func prepareEdit(c *capture.Capture) tea.Msg {
	f, err := os.CreateTemp("", "omega-listen-*.json")
	if err != nil {
		return statusMsg{text: fmt.Sprintf("could not create a file to edit: %v", err), isErr: true}
	}
	// CreateTemp makes it 0600 already; say so in case the umask or a
	// platform differs.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(c.Body)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return statusMsg{text: fmt.Sprintf("could not write the body to edit: %v", err), isErr: true}
	}
	return editReadyMsg{id: c.ID, path: f.Name(), orig: c.Body}
}

// finishEdit reads the edited body back, checks it and replays it.
func (m *Model) finishEdit(msg editDoneMsg) tea.Cmd {
	replay, check, ctx := m.act.Replay, m.act.CheckEdit, m.ctx
	return func() tea.Msg {
		defer os.Remove(msg.path)
		if msg.err != nil {
			return statusMsg{text: fmt.Sprintf("editor failed: %v (set $EDITOR to one that works); not replayed", msg.err), isErr: true}
		}
		body, err := os.ReadFile(msg.path)
		if err != nil {
			return statusMsg{text: fmt.Sprintf("could not read the edited body: %v; not replayed", err), isErr: true}
		}
		if check != nil {
			checked, err := check(msg.orig, body)
			if checked == nil && err != nil {
				return statusMsg{text: fmt.Sprintf("%v: not replayed (press e to edit again)", err), isErr: true}
			}
			body = checked // an unchanged body comes back with an error, and is still sent
		} else {
			if len(strings.TrimSpace(string(body))) == 0 {
				return statusMsg{text: "edited body is empty: replay aborted"}
			}
			if len(msg.orig) > 0 && json.Valid(msg.orig) && !json.Valid(body) {
				return statusMsg{text: "edited body is not valid JSON: not replayed (press e to edit again)", isErr: true}
			}
		}
		c, err := replay(ctx, msg.id, body)
		return replayDoneMsg{orig: msg.id, c: c, err: err, edited: true}
	}
}

func replayStatus(msg replayDoneMsg) (string, bool) {
	what := "replayed"
	if msg.edited {
		what = "replayed (edited)"
	}
	if msg.err != nil {
		if errors.Is(msg.err, capture.ErrNotFound) {
			return fmt.Sprintf("replay of %s failed: it is no longer in the store", msg.orig), true
		}
		return fmt.Sprintf("replay of %s failed: %s", msg.orig, text.Sanitize(msg.err.Error())), true
	}
	c := msg.c
	if c == nil {
		return what + " " + msg.orig, false
	}
	switch c.Summary().Outcome() {
	case capture.OutcomeFailed:
		return fmt.Sprintf("%s %s → failed: %s", what, msg.orig, text.Sanitize(c.Error)), true
	case capture.OutcomePending:
		return fmt.Sprintf("%s %s → %s (pending)", what, msg.orig, c.ID), false
	}
	return fmt.Sprintf("%s %s → %s (%s)", what, msg.orig, statusText(c.Status), c.ID), c.Status >= 300
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}
