package tui

import (
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// Update applies one message. It never does I/O: anything that reads,
// writes or waits is returned as a tea.Cmd.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.help.SetWidth(m.width)
		m.settle(&m.main)
		if m.filt != nil {
			m.settle(m.filt)
		}
		m.renderDetail()
	case tea.BackgroundColorMsg:
		m.setStyles(msg.IsDark())
		m.renderDetail()
	case deliveriesMsg:
		return m, m.onDeliveries(msg)
	case historyMsg:
		return m, m.onHistory(msg)
	case catchupMsg:
		if msg.err != nil {
			return m, m.setStatus(fmt.Sprintf("fell behind and could not catch up: %v", msg.err), true)
		}
		return m, m.applyRows(msg.rows, srcCatchup)
	case filterMsg:
		return m, m.onFilterResult(msg)
	case detailMsg:
		if m.mode == modeDetail && msg.id == m.det.id {
			m.det.loading = false
			m.det.c, m.det.err = msg.c, msg.err
			if msg.c != nil {
				m.det.sum = msg.c.Summary()
			}
			m.renderDetail()
		}
	case replaysMsg:
		if m.mode == modeDetail && msg.id == m.det.id && msg.err == nil {
			m.det.replays = newRowList()
			m.det.replays.merge(msg.rows, nil, nil)
			m.renderDetail()
		}
	case replayDoneMsg:
		text, isErr := replayStatus(msg)
		var cmd tea.Cmd
		if msg.c != nil {
			cmd = m.applyRows([]capture.Summary{msg.c.Summary()}, srcLive)
		}
		return m, tea.Batch(cmd, m.setStatus(text, isErr))
	case editReadyMsg:
		path := msg.path
		cmd, err := m.editor(path)
		if err != nil {
			// finishEdit reports it and removes the file.
			return m, m.finishEdit(editDoneMsg{id: msg.id, path: path, orig: msg.orig, written: msg.written, err: err})
		}
		return m, tea.ExecProcess(cmd, func(err error) tea.Msg {
			return editDoneMsg{id: msg.id, path: path, orig: msg.orig, written: msg.written, err: err}
		})
	case editDoneMsg:
		return m, tea.Batch(m.setStatus("checking the edited body of "+msg.id+"…", false), m.finishEdit(msg))
	case clipMsg:
		return m, m.onClip(msg)
	case clipDoneMsg:
		if msg.via != "" {
			return m, m.setStatus(fmt.Sprintf("copied the %s (%d bytes) to the clipboard (%s)", msg.what, len(msg.text), msg.via), false)
		}
		// OSC 52 cannot be confirmed: terminals (and tmux, by default)
		// may drop it. Say what was done, and how to make it work.
		return m, tea.Batch(tea.SetClipboard(msg.text),
			m.setStatus(fmt.Sprintf("sent the %s (%d bytes) to the terminal's clipboard (OSC 52); if nothing was copied, your terminal ignores OSC 52 (tmux: set -g set-clipboard on)", msg.what, len(msg.text)), false))
	case statusMsg:
		return m, m.setStatus(msg.text, msg.isErr)
	case triggerDoneMsg:
		return m, m.onTriggerDone(msg)
	case NoticeMsg:
		if msg.Warn {
			m.warning = msg.Text
		}
		return m, m.setStatus(text.Sanitize(msg.Text), msg.Warn)
	case pendingTickMsg:
		m.ticking = false
		return m, m.tickPending()
	case clearStatusMsg:
		if msg.gen == m.statusGen {
			m.status, m.statusErr = "", false
		}
	case TunnelMsg:
		m.tunnel = msg
		if msg.URL != "" {
			m.info.PublicURL = msg.URL
		}
	case ShutdownMsg:
		// Teardown may start without q (a signal): show it either way.
		m.enterShutdown()
		m.shutdownLines = append(m.shutdownLines, msg.Line)
	case DoneMsg:
		m.cancel()
		return m, tea.Quit
	case tea.PasteMsg:
		if m.input != nil {
			m.input.insert(msg.Content)
		}
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	}
	return m, nil
}

func (m *Model) enterShutdown() {
	m.mode = modeShutdown
	m.showHelp = false
	m.input = nil
	m.pick = nil
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if m.mode == modeShutdown {
		// A second ctrl-c leaves at once, teardown or not.
		if k.String() == "ctrl+c" {
			m.cancel()
			return tea.Quit
		}
		return nil
	}
	if m.input != nil {
		return m.onInputKey(k)
	}
	if m.pick != nil && !key.Matches(k, m.keys.Quit) {
		return m.onPickerKey(k)
	}
	if key.Matches(k, m.keys.Quit) {
		return m.quit()
	}
	if m.showHelp {
		if key.Matches(k, m.keys.Help, m.keys.Back) {
			m.showHelp = false
		}
		return nil
	}
	if key.Matches(k, m.keys.Help) {
		m.showHelp = true
		return nil
	}
	if m.mode == modeDetail {
		return m.onDetailKey(k)
	}
	return m.onListKey(k)
}

func (m *Model) quit() tea.Cmd {
	m.enterShutdown()
	q := m.act.Quit
	if q == nil {
		m.cancel()
		return tea.Quit
	}
	return func() tea.Msg {
		q()
		return nil
	}
}

func (m *Model) onListKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.cur()
	h := m.listHeight()
	switch {
	case key.Matches(k, m.keys.Up):
		return m.move(-1)
	case key.Matches(k, m.keys.Down):
		return m.move(1)
	case key.Matches(k, m.keys.PageUp):
		return m.move(-h)
	case key.Matches(k, m.keys.PageDown):
		return m.move(h)
	case key.Matches(k, m.keys.Top):
		return m.move(-p.rows.len())
	case key.Matches(k, m.keys.Bottom):
		p.follow = true
		m.settle(p)
	case key.Matches(k, m.keys.Open):
		if s, ok := m.selected(); ok {
			return m.openDetail(s)
		}
	case key.Matches(k, m.keys.Back):
		if m.filt != nil {
			m.clearFilter()
		}
	case key.Matches(k, m.keys.Filter):
		m.input = &lineInput{}
		m.input.insert(m.flt.raw)
	case key.Matches(k, m.keys.Replay):
		if s, ok := m.selected(); ok {
			return m.replay(s.ID)
		}
	case key.Matches(k, m.keys.Edit):
		if s, ok := m.selected(); ok {
			return m.edit(s.ID)
		}
	case key.Matches(k, m.keys.CopyBody):
		if s, ok := m.selected(); ok {
			return m.copyBody(s.ID)
		}
	case key.Matches(k, m.keys.CopyCurl):
		if s, ok := m.selected(); ok {
			return m.copyCurl(s.ID)
		}
	case key.Matches(k, m.keys.Trigger):
		return m.openPicker()
	}
	return nil
}

// move moves the selection by d rows. Reaching the newest row follows new
// ones again; moving up from the oldest loaded row loads the page before
// it.
func (m *Model) move(d int) tea.Cmd {
	p := m.cur()
	n := p.rows.len()
	if n == 0 {
		return nil
	}
	atTop := p.sel == 0
	p.sel = min(max(p.sel+d, 0), n-1)
	p.follow = p.sel == n-1 && d > 0 || p.follow && p.sel == n-1
	m.settle(p)
	if d < 0 && p.sel == 0 && (atTop || d < -1) {
		return m.loadOlder()
	}
	return nil
}

func (m *Model) loadOlder() tea.Cmd {
	if m.filt != nil {
		return m.loadOlderMatches()
	}
	if !m.historyDone || m.olderDone || m.loadingOlder || m.act.List == nil || m.main.rows.len() == 0 {
		return nil
	}
	m.loadingOlder = true
	limit := m.history
	q := capture.Query{BeforeSeq: m.main.rows.rows[0].Seq, Newest: true, Limit: limit}
	return m.listCmd(q, func(rows []capture.Summary, err error) tea.Msg {
		return historyMsg{rows: rows, err: err, limit: limit, older: true}
	})
}

func (m *Model) onDetailKey(k tea.KeyPressMsg) tea.Cmd {
	vp := &m.det.vp
	switch {
	case key.Matches(k, m.keys.Back):
		m.mode = modeList
		m.det = detailState{vp: m.det.vp}
	case key.Matches(k, m.keys.Up):
		vp.ScrollUp(1)
	case key.Matches(k, m.keys.Down):
		vp.ScrollDown(1)
	case key.Matches(k, m.keys.PageUp):
		vp.PageUp()
	case key.Matches(k, m.keys.PageDown):
		vp.PageDown()
	case key.Matches(k, m.keys.Top):
		vp.GotoTop()
	case key.Matches(k, m.keys.Bottom):
		vp.GotoBottom()
	case key.Matches(k, m.keys.Raw):
		m.det.raw = !m.det.raw
		m.renderDetail()
	case key.Matches(k, m.keys.Replay):
		return m.replay(m.det.id)
	case key.Matches(k, m.keys.Edit):
		return m.edit(m.det.id)
	case key.Matches(k, m.keys.CopyBody):
		return m.copyBody(m.det.id)
	case key.Matches(k, m.keys.CopyCurl):
		return m.copyCurl(m.det.id)
	}
	return nil
}

func (m *Model) openDetail(s capture.Summary) tea.Cmd {
	m.mode = modeDetail
	m.det = detailState{id: s.ID, sum: s, vp: m.det.vp, loading: m.act.Load != nil}
	m.det.vp.GotoTop()
	var cmds []tea.Cmd
	if m.act.Load != nil {
		cmds = append(cmds, m.loadCmd(s.ID))
	}
	if m.act.List != nil {
		id := s.ID
		cmds = append(cmds, m.listCmd(capture.Query{ReplayOf: id, Newest: true, Limit: 50}, func(rows []capture.Summary, err error) tea.Msg {
			return replaysMsg{id: id, rows: rows, err: err}
		}))
	}
	m.renderDetail()
	return tea.Batch(cmds...)
}

func (m *Model) replay(id string) tea.Cmd {
	if m.act.Replay == nil {
		return m.setStatus("replay not available", true)
	}
	return tea.Batch(m.setStatus("replaying "+id+"…", false), m.replayCmd(id, nil, false))
}

func (m *Model) edit(id string) tea.Cmd {
	if m.act.Replay == nil {
		return m.setStatus("replay not available", true)
	}
	return m.withCapture(id, func(c *capture.Capture) tea.Msg {
		if c.Flags.Has(capture.FlagTruncated) {
			return statusMsg{text: "the stored body is only a prefix (it was larger than the store keeps): not editing it", isErr: true}
		}
		return prepareEdit(c)
	})
}

func (m *Model) copyBody(id string) tea.Cmd {
	return m.withCapture(id, func(c *capture.Capture) tea.Msg {
		return clipMsg{what: "body", text: string(c.Body)}
	})
}

func (m *Model) copyCurl(id string) tea.Cmd {
	curl := m.act.Curl
	if curl == nil {
		return m.setStatus("curl command not available", true)
	}
	return m.withCapture(id, func(c *capture.Capture) tea.Msg {
		return clipMsg{what: "curl command", text: curl(c)}
	})
}

// Where rows come from decides how they count.
type rowSource int

const (
	srcLive    rowSource = iota // the bus
	srcCatchup                  // re-read after the bus lagged
	srcInitial                  // the history loaded at start
	srcOlder                    // a page loaded by scrolling up
)

func (m *Model) onDeliveries(msg deliveriesMsg) tea.Cmd {
	cmd := m.applyRows(msg.rows, srcLive)
	if !msg.lagged || m.act.List == nil {
		return cmd
	}
	q := capture.Query{AfterSeq: msg.lagFrom - 1}
	if msg.lagFrom <= 0 {
		q = capture.Query{SessionID: m.info.SessionID, Newest: true, Limit: m.maxRows()}
	}
	return tea.Batch(cmd, m.listCmd(q, func(rows []capture.Summary, err error) tea.Msg {
		return catchupMsg{rows: rows, err: err}
	}))
}

func (m *Model) onHistory(msg historyMsg) tea.Cmd {
	src := srcInitial
	if msg.older {
		src = srcOlder
		m.loadingOlder = false
	} else {
		m.historyDone = true
	}
	if msg.err != nil {
		return m.setStatus(fmt.Sprintf("could not load earlier deliveries: %v", msg.err), true)
	}
	if len(msg.rows) < msg.limit || m.act.List == nil {
		m.olderDone = true
	}
	return m.applyRows(msg.rows, src)
}

// applyRows merges rows into the main list (by ID, later state wins),
// keeps the counters, the filtered list and the detail view up to date,
// and drops the oldest rows beyond the cap.
func (m *Model) applyRows(rows []capture.Summary, src rowSource) tea.Cmd {
	if len(rows) == 0 {
		return nil
	}
	var changed []capture.Summary
	added := false
	if src == srcInitial || src == srcOlder {
		for i := range rows {
			if rows[i].SessionID != m.info.SessionID {
				m.earlierMaxSeq = max(m.earlierMaxSeq, rows[i].Seq)
			}
		}
	}
	var skip func(*capture.Summary) bool
	if src == srcLive || src == srcCatchup {
		// A row older than the first in memory, in the range dropped to
		// keep memory bounded, stays dropped: the store has it for when
		// the user scrolls up.
		skip = func(s *capture.Summary) bool {
			if m.trimSeq == 0 || s.Seq > m.trimSeq || m.main.rows.len() == 0 || s.Seq >= m.main.rows.rows[0].Seq {
				return false
			}
			m.count(capture.Summary{}, false, s)
			return true
		}
	}
	m.mutate(&m.main, func() {
		m.main.rows.merge(rows, skip, func(prev capture.Summary, existed bool, s capture.Summary) {
			if src != srcOlder {
				m.count(prev, existed, &s)
			}
			if !existed {
				added = true
			}
			changed = append(changed, s)
		})
		m.trim(&m.main)
	})
	cmds := []tea.Cmd{m.tickPending()}
	if m.filt != nil && len(changed) > 0 {
		cmds = append(cmds, m.filterChanged(changed, added && src != srcOlder))
	}
	if m.mode == modeDetail {
		cmds = append(cmds, m.detailChanged(changed))
	}
	return tea.Batch(cmds...)
}

// count keeps this session's outcome counters: a capture counts once, when
// it is first seen finished.
func (m *Model) count(prev capture.Summary, existed bool, s *capture.Summary) {
	if s.SessionID != m.info.SessionID {
		return
	}
	o := s.Outcome()
	if o == capture.OutcomePending {
		if !existed || prev.Outcome() == capture.OutcomePending {
			m.open[s.ID] = struct{}{}
		}
		return
	}
	_, wasOpen := m.open[s.ID]
	delete(m.open, s.ID)
	if wasOpen || existed && prev.Outcome() == capture.OutcomePending || !existed && s.Seq > m.trimSeq {
		m.counts[o]++
	}
}

// pendingTickMsg redraws pending rows, whose time so far grows.
type pendingTickMsg struct{}

// tickPending schedules a redraw in a second while a delivery of this
// session is pending; nothing when none is, or one is scheduled.
func (m *Model) tickPending() tea.Cmd {
	if m.ticking || len(m.open) == 0 {
		return nil
	}
	m.ticking = true
	return m.after(time.Second, pendingTickMsg{})
}
