// Package tui is omega-listen's terminal UI: a Bubble Tea program that
// shows every delivery live, opens one to see its request and the app's
// answer, and replays it.
//
// The program does no I/O in Update. Deliveries arrive as messages from
// Bridge, the one goroutine reading the capture bus; everything else it
// does (read the store, replay, copy, quit) goes through the funcs in
// Actions, each called from a tea.Cmd.
//
// Memory and time do not grow with the store: the model holds row
// summaries only (bodies are loaded when a row is opened), at most
// maxLiveRows of them beyond the history it loaded, and View renders only
// the rows on screen.
package tui

import (
	"context"
	"maps"
	"os/exec"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
)

// Info is what the header shows; it is fixed for the session.
type Info struct {
	WebhookURL, PublicURL, EndpointID, Forward, Tunnel string   // Tunnel: "ngrok" | "none"
	Events                                             []string // subscribed event types (nil = all)
	Emulated                                           bool
	// SampleApp: Forward is the built-in sample app (--emulate with no
	// --forward), which answers every delivery 200.
	SampleApp bool
	// SessionID: captures with another SessionID are from earlier sessions
	// (or other processes sharing the store) and are shown set apart.
	SessionID string
	// Web is the web inspector's URL ("" when it is off).
	Web string
}

// Actions are the only way the program does I/O. Each is called from a
// tea.Cmd, never from Update. Any may be nil: the feature then says it is
// not available.
type Actions struct {
	// List reads summaries from the store: the history at start, the rows
	// missed when the bus lagged, filters, and older pages when the
	// user scrolls past the top.
	List func(ctx context.Context, q capture.Query) ([]capture.Summary, error)
	// Load reads a whole capture (headers, bodies).
	Load func(ctx context.Context, id string) (*capture.Capture, error)
	// Replay re-sends a capture; body nil means the original body. The
	// result also arrives through the bus.
	Replay func(ctx context.Context, id string, body []byte) (*capture.Capture, error)
	// Curl returns a curl command that reproduces the request.
	Curl func(c *capture.Capture) string
	// CheckEdit checks an edited body against the original and returns
	// the body to send, the same rules `replay --edit` applies. Nil: an
	// empty body aborts, a JSON original must stay JSON, and the edit is
	// sent as the editor left it.
	CheckEdit func(orig, edited []byte) ([]byte, error)
	// Trigger has the emulator deliver a sample event of the type to the
	// listener's endpoint and says how it went ("Omega (emulator)
	// delivered … → 200 OK"). Nil without --emulate: `t` then says how to
	// send one.
	Trigger func(ctx context.Context, eventType string) (string, error)
	// Copy puts text on the system clipboard when there is a local one,
	// and says with what ("pbcopy"). Nil, or an error, and the text goes
	// to the terminal as OSC 52, which the status line then says it cannot
	// confirm.
	Copy func(text string) (via string, err error)
	// Quit starts the caller's teardown. The caller then sends
	// ShutdownMsg lines as steps happen, and DoneMsg when it is finished.
	Quit func()
}

// Options configure New.
type Options struct {
	Info    Info
	Actions Actions
	// History is how many earlier captures to load at start (0: 200). It
	// is also the page size when scrolling up past them.
	History int
	// NoColor: no ANSI styling at all (NO_COLOR, or colour unwanted).
	NoColor bool
	// Editor returns the command that edits the file at path for `e` (the
	// caller's $VISUAL or $EDITOR, split as `replay --edit` splits it);
	// nil means vi. Building the command does no I/O; running it is the
	// program's (tea.ExecProcess).
	Editor func(path string) (*exec.Cmd, error)
}

// TunnelMsg reports the tunnel's state: "connecting", "connected",
// "reconnecting" (Err says why) or "closed". URL, when set, is the public
// URL now in use.
type TunnelMsg struct {
	State string
	URL   string
	Err   string
}

// ShutdownMsg is one teardown step to show while quitting ("Deleting
// endpoint 6b08…").
type ShutdownMsg struct{ Line string }

// DoneMsg says teardown finished: the program quits.
type DoneMsg struct{}

// NoticeMsg tells the user of something that happened outside the program
// (a backfill, a store failure). It shows in the status line; a Warn
// notice also stays in the header until another replaces it.
type NoticeMsg struct {
	Text string
	Warn bool
}

const (
	defaultHistory = 200
	// maxLiveRows bounds the rows kept beyond the loaded history: older
	// rows are dropped (in chunks) and read back from the store if the
	// user scrolls up to them.
	maxLiveRows = 5000
	// filterLimit caps how many matches a filter asks the store for.
	filterLimit = 1000
	// maxShownBody is how much of a body the detail view renders; copy
	// and edit use all of it.
	maxShownBody = 256 << 10
	statusFor    = 6 * time.Second
)

type mode int

const (
	modeList mode = iota
	modeDetail
	modeShutdown
)

// pane is one list of rows with its own selection and scroll: the main
// list, or the filtered one while a filter is applied.
type pane struct {
	rows   *rowList
	sel    int  // index of the selected row
	top    int  // first display line on screen (the divider is a line)
	follow bool // keep the newest row selected and on screen
}

func newPane() *pane { return &pane{rows: newRowList(), follow: true} }

// Model is the root model of the program. Create it with New.
type Model struct {
	info    Info
	act     Actions
	history int
	noColor bool
	editor  func(path string) (*exec.Cmd, error)
	keys    KeyMap
	help    help.Model
	st      styles
	loc     *time.Location
	// after schedules msg after d (tea.Tick); tests replace it.
	after func(d time.Duration, msg tea.Msg) tea.Cmd
	// now is the clock pending rows count their time by; tests set it.
	now     func() time.Time
	ticking bool // a tick to redraw pending rows' time is scheduled
	ctx     context.Context
	cancel  context.CancelFunc

	width, height int
	mode          mode
	showHelp      bool

	main pane
	filt *pane // the filtered list while a filter is applied
	flt  filter
	// Filters are the store's to answer: one query in flight at a time,
	// and, for text, another after it if rows arrived meanwhile.
	fltGen          int
	fltBusy         bool
	fltDirty        bool
	fltSeq          int64 // the newest Seq a filter query has covered
	fltSearched     bool  // the whole store has answered the filter once
	fltOlderDone    bool  // the store has no match older than the first filtered row
	fltLoadingOlder bool  // a page of older matches is on its way

	input *lineInput
	pick  *picker // choosing a sample event to send (t)

	earlierMaxSeq int64 // newest Seq of an earlier session's row: the divider goes after it
	historyDone   bool  // the initial history load returned
	olderDone     bool  // nothing older than the first row is in the store
	loadingOlder  bool
	trimSeq       int64               // rows at or below this Seq were dropped from memory
	open          map[string]struct{} // this session's captures seen pending, not yet counted
	counts        map[capture.Outcome]int
	tunnel        TunnelMsg

	det detailState

	status    string
	statusErr bool
	statusGen int
	warning   string // the last NoticeMsg with Warn

	shutdownLines []string
}

// New returns the program's model. It does nothing until Init.
func New(o Options) *Model {
	h := o.History
	if h <= 0 {
		h = defaultHistory
	}
	ed := o.Editor
	if ed == nil {
		ed = func(path string) (*exec.Cmd, error) { return exec.Command("vi", path), nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{
		info: o.Info, act: o.Actions, history: h, noColor: o.NoColor, editor: ed,
		keys: DefaultKeyMap(), help: help.New(), loc: time.Local,
		after: func(d time.Duration, msg tea.Msg) tea.Cmd {
			return tea.Tick(d, func(time.Time) tea.Msg { return msg })
		},
		ctx: ctx, cancel: cancel, now: time.Now,
		width: 80, height: 24,
		main:   *newPane(),
		open:   make(map[string]struct{}),
		counts: make(map[capture.Outcome]int),
	}
	m.setStyles(true)
	switch o.Info.Tunnel {
	case "ngrok":
		m.tunnel.State = "connecting"
	default:
		m.tunnel.State = "local"
	}
	m.det.vp = viewport.New()
	return m
}

func (m *Model) setStyles(isDark bool) {
	m.st = newStyles(isDark, m.noColor)
	m.help.Styles = m.st.help
}

// Init asks the terminal for its background colour and loads the history.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.listCmd(capture.Query{Newest: true, Limit: m.history}, func(rows []capture.Summary, err error) tea.Msg {
		return historyMsg{rows: rows, err: err, limit: m.history}
	}))
}

func (m *Model) maxRows() int { return maxLiveRows + m.history }

// cur is the list on screen.
func (m *Model) cur() *pane {
	if m.filt != nil {
		return m.filt
	}
	return &m.main
}

func (m *Model) selected() (capture.Summary, bool) {
	p := m.cur()
	if p.rows.len() == 0 {
		return capture.Summary{}, false
	}
	return p.rows.rows[min(p.sel, p.rows.len()-1)], true
}

// listHeight is how many lines the list gets: the screen less the header
// (3), the column heads (1), the status line and the help bar.
func (m *Model) listHeight() int { return max(1, m.height-6) }

// divider returns the index of the first row after the divider between
// earlier sessions and this one, if the pane shows rows on both... or only
// earlier ones.
func (m *Model) divider(p *pane) (int, bool) {
	if m.earlierMaxSeq == 0 {
		return 0, false
	}
	i := p.rows.search(m.earlierMaxSeq + 1)
	return i, i > 0
}

func (m *Model) lineCount(p *pane) int {
	n := p.rows.len()
	if _, ok := m.divider(p); ok {
		n++
	}
	return n
}

func (m *Model) lineOf(p *pane, i int) int {
	if d, ok := m.divider(p); ok && i >= d {
		return i + 1
	}
	return i
}

// settle clamps the selection and scrolls so the selected row is on
// screen (the newest, when following).
func (m *Model) settle(p *pane) {
	n := p.rows.len()
	if n == 0 {
		p.sel, p.top = 0, 0
		return
	}
	if p.follow {
		p.sel = n - 1
	}
	p.sel = min(max(p.sel, 0), n-1)
	h := m.listHeight()
	maxTop := max(0, m.lineCount(p)-h)
	if p.follow {
		p.top = maxTop
		return
	}
	line := m.lineOf(p, p.sel)
	if d, ok := m.divider(p); ok && p.sel == d && line-1 < p.top {
		line-- // show the divider above the first row after it
	}
	if line < p.top {
		p.top = line
	}
	if l := m.lineOf(p, p.sel); l >= p.top+h {
		p.top = l - h + 1
	}
	p.top = min(max(p.top, 0), maxTop)
}

// mutate runs fn, which changes p's rows, and keeps the selected row
// selected and where it was on screen.
func (m *Model) mutate(p *pane, fn func()) {
	if p.follow || p.rows.len() == 0 {
		fn()
		m.settle(p)
		return
	}
	sel := p.rows.rows[min(p.sel, p.rows.len()-1)].Seq
	rel := m.lineOf(p, p.sel) - p.top
	fn()
	if p.rows.len() == 0 {
		m.settle(p)
		return
	}
	p.sel = min(p.rows.search(sel), p.rows.len()-1)
	p.top = m.lineOf(p, p.sel) - rel
	m.settle(p)
}

// trim drops the oldest rows beyond the cap, in chunks, but not the ones
// the user is looking at unless memory would grow past four times the
// cap.
func (m *Model) trim(p *pane) bool {
	limit := m.maxRows()
	n := p.rows.len()
	if n <= limit+limit/8 {
		return false
	}
	drop := n - limit
	if !p.follow && n <= 4*limit {
		topRow := p.top
		if d, ok := m.divider(p); ok && p.top > d {
			topRow--
		}
		drop = min(drop, max(0, topRow-m.listHeight()))
	}
	if drop <= 0 {
		return false
	}
	if p == &m.main {
		m.trimSeq = max(m.trimSeq, p.rows.rows[drop-1].Seq)
		m.olderDone = false
	} else {
		m.fltOlderDone = false
	}
	p.rows.dropFront(drop)
	return true
}

func (m *Model) setStatus(text string, isErr bool) tea.Cmd {
	m.status, m.statusErr = text, isErr
	m.statusGen++
	return m.after(statusFor, clearStatusMsg{m.statusGen})
}

// Counts returns how many of this session's captures ended each way, as
// the header shows them.
func (m *Model) Counts() map[capture.Outcome]int {
	return maps.Clone(m.counts)
}
