package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// View renders the screen. Its cost depends on the screen's size, not on
// how many rows are known: only the rows on screen are formatted.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "omega-listen"
	return v
}

func (m *Model) render() string {
	var lines []string
	switch {
	case m.mode == modeShutdown:
		lines = m.shutdownView()
	case m.showHelp:
		lines = m.helpView()
	case m.mode == modeDetail:
		lines = append(lines, m.detailTitle())
		lines = append(lines, strings.Split(m.det.vp.View(), "\n")...)
		lines = m.footer(lines, detailHelp{&m.keys})
	case m.pick != nil:
		lines = m.header()
		lines = append(lines, m.pickerLines()...)
		lines = m.footer(lines, listHelp{&m.keys})
	default:
		lines = m.header()
		lines = append(lines, m.listLines()...)
		lines = m.footer(lines, listHelp{&m.keys})
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "…")
		}
	}
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}

// footer pads the body to the screen's height less two lines, then adds
// the status line and the help bar.
func (m *Model) footer(lines []string, keys interface {
	ShortHelp() []key.Binding
}) []string {
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	lines = lines[:max(0, min(len(lines), m.height-2))]
	lines = append(lines, m.statusLine())
	lines = append(lines, m.help.ShortHelpView(keys.ShortHelp()))
	return lines
}

func (m *Model) statusLine() string {
	st := m.st
	if m.input != nil {
		l := "/" + text.Sanitize(string(m.input.value)) + "█"
		if m.input.err != "" {
			l += "  " + st.errText.Render(m.input.err)
		} else {
			l += st.dim.Render("  enter: apply · esc: cancel · type: status: or text")
		}
		return l
	}
	if m.status != "" {
		if m.statusErr {
			return st.errText.Render(m.status)
		}
		return st.status.Render(m.status)
	}
	if m.filt != nil && m.mode == modeList {
		n := m.filt.rows.len()
		l := fmt.Sprintf("filter: %s · %d match", text.Sanitize(m.flt.raw), n)
		if n != 1 {
			l += "es"
		}
		switch {
		case m.fltBusy:
			l += " · searching…"
		case m.fltLoadingOlder:
			l += " · searching older…"
		case m.fltSearched && !m.fltOlderDone && n > 0:
			l += " · more above"
		}
		return st.warn.Render(l) + st.dim.Render(" · esc clears")
	}
	return ""
}

func (m *Model) header() []string {
	st := m.st
	in := m.info
	var tun string
	switch m.tunnel.State {
	case "connected":
		tun = st.tunnelUp.Render("● connected")
	case "local":
		tun = st.tunnelUp.Render("● local")
	case "reconnecting":
		tun = st.tunnelWait.Render("◌ reconnecting")
		if m.tunnel.Err != "" {
			tun += st.tunnelWait.Render(": " + text.Sanitize(m.tunnel.Err))
		}
	case "closed":
		tun = st.tunnelDown.Render("○ closed")
		if m.tunnel.Err != "" {
			tun += st.tunnelDown.Render(": " + text.Sanitize(m.tunnel.Err))
		}
	default:
		tun = st.tunnelWait.Render("◌ " + text.Sanitize(m.tunnel.State))
	}
	url := in.WebhookURL
	fwd := text.Sanitize(in.Forward)
	if in.SampleApp {
		fwd = "sample app " + fwd + " (answers 200)"
	}
	if url == "" {
		url = in.PublicURL
	}
	l1 := st.title.Render("omega-listen") + "  " + tun + "  " + text.Sanitize(url)
	if in.Emulated {
		l1 += st.warn.Render("  (emulator)")
	}

	events := "all events"
	if len(in.Events) > 0 {
		events = strings.Join(in.Events, ", ")
	}
	ep := in.EndpointID
	if len(ep) > 8 {
		ep = ep[:8] + "…"
	}
	l2 := st.key.Render("→ ") + fwd + st.key.Render("  endpoint ") + text.Sanitize(ep) +
		st.key.Render("  events ") + text.Sanitize(events)
	if ansi.StringWidth(l2) > m.width && len(in.Events) > 1 {
		// The list does not fit: its size, and where to see it.
		l2 = st.key.Render("→ ") + fwd + st.key.Render("  endpoint ") + text.Sanitize(ep) +
			st.key.Render("  events ") + fmt.Sprintf("%d types (? lists them)", len(in.Events))
	}

	c := m.counts
	l3 := st.outcome[capture.OutcomeOK].Render(fmt.Sprintf("%d ok", c[capture.OutcomeOK])) + "  " +
		st.outcome[capture.OutcomeAppError].Render(fmt.Sprintf("%d app error", c[capture.OutcomeAppError])) + "  " +
		st.outcome[capture.OutcomeFailed].Render(fmt.Sprintf("%d failed", c[capture.OutcomeFailed])) + "  " +
		st.outcome[capture.OutcomeRejected].Render(fmt.Sprintf("%d rejected", c[capture.OutcomeRejected]))
	if in.Web != "" {
		l3 += st.key.Render("  · web ") + text.Sanitize(in.Web)
	}
	if p := m.cur(); !p.follow {
		if n := m.below(p); n > 0 {
			l3 += st.warn.Render(fmt.Sprintf("  · %d new ↓ (G follows)", n))
		} else {
			l3 += st.warn.Render("  · paused: G follows")
		}
	}
	if m.warning != "" {
		l3 += st.warn.Render("  ⚠ " + text.Sanitize(m.warning))
	}
	return []string{l1, l2, l3}
}

// columns is the list's layout for one width: fixed columns first, then
// the event type, the event ID and a note, dropped or cut as room runs out.
type columns struct {
	time, lat, typ, capID, id, note int
	short                           bool // event types without "video."
	long                            bool // date with the time
}

const (
	colPrefix = 4 // "> " and a mark
	colStatus = 4
	colLat    = 7
)

func layout(width int) columns {
	c := columns{time: 8, lat: colLat}
	if width >= 110 {
		c.time, c.long = 14, true
	}
	rest := width - colPrefix - c.time - 2 - colStatus - 2 - colLat - 2
	if rest < 16 {
		// Narrow: the event type matters more than the latency, and
		// "video." says nothing (every type has it).
		c.lat, c.short = 0, true
		rest += colLat + 2
	}
	c.typ = min(26, max(0, rest))
	rest -= c.typ + 2
	if rest >= shortIDLen {
		c.capID = shortIDLen
		rest -= shortIDLen + 2
	}
	// The event ID only with room left for a note (what went wrong).
	if rest >= 24+2+14 {
		c.id = 24
		rest -= 26
	}
	if rest >= 6 {
		c.note = rest
	}
	return c
}

func (m *Model) listLines() []string {
	st := m.st
	p := m.cur()
	h := m.listHeight()
	cols := layout(m.width)
	out := make([]string, 0, h+1)
	out = append(out, st.dim.Render(m.columnHeads(cols)))
	if p.rows.len() == 0 {
		switch {
		case m.filt != nil:
			out = append(out, st.dim.Render("  no deliveries match the filter (esc clears it)"))
		case !m.historyDone:
			out = append(out, st.dim.Render("  loading…"))
		default:
			out = append(out, st.dim.Render("  waiting for deliveries…"))
			out = append(out, m.howToSend()...)
		}
		return out
	}
	div, hasDiv := m.divider(p)
	for line := p.top; line < p.top+h; line++ {
		i := line
		if hasDiv {
			if line == div {
				out = append(out, m.dividerLine())
				continue
			}
			if line > div {
				i--
			}
		}
		if i >= p.rows.len() {
			break
		}
		out = append(out, m.rowLine(&p.rows.rows[i], i == p.sel, cols))
	}
	return out
}

func (m *Model) dividerLine() string {
	label := " earlier sessions ↑ · this session ↓ "
	n := max(0, m.width-ansi.StringWidth(label)-4)
	return m.st.divider.Render("──" + label + strings.Repeat("─", n))
}

func (m *Model) columnHeads(c columns) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", colPrefix))
	b.WriteString(pad("TIME", c.time))
	b.WriteString("  ")
	b.WriteString(pad("CODE", colStatus))
	if c.lat > 0 {
		b.WriteString("  ")
		b.WriteString(pad("LATENCY", colLat))
	}
	if c.typ > 0 {
		b.WriteString("  ")
		b.WriteString(pad("EVENT", c.typ))
	}
	if c.capID > 0 {
		b.WriteString("  ")
		b.WriteString(pad("CAPTURE", c.capID))
	}
	if c.id > 0 {
		b.WriteString("  ")
		b.WriteString(pad("EVENT ID", c.id))
	}
	return strings.TrimRight(b.String(), " ")
}

func pad(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return s + strings.Repeat(" ", w-sw)
	} else if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

func padLeft(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return strings.Repeat(" ", w-sw) + s
	}
	return s
}

// eventLabel is what the list shows as the event: the type, or what the
// request was when it was not an Omega event.
func eventLabel(s *capture.Summary) string {
	switch {
	case s.EventType != "":
		return text.Sanitize(s.EventType)
	case s.Flags.Has(capture.FlagRejected):
		return "(rejected) " + text.Sanitize(s.Method)
	case s.Flags.Has(capture.FlagNotJSON):
		return "(not JSON)"
	case s.Flags.Has(capture.FlagNotOmega):
		return "(not an Omega event)"
	}
	return ""
}

func mark(s *capture.Summary) string {
	switch {
	case s.Flags.Has(capture.FlagRejected):
		return "✗"
	case s.ReplayOf != "":
		return "↺"
	case s.Flags.Has(capture.FlagBackfill):
		return "⇤"
	case s.Flags.Has(capture.FlagFromOmega):
		return "Ω"
	}
	return " "
}

// note is the row's last column: what went wrong, or what it is a replay of.
func note(s *capture.Summary) string {
	var parts []string
	switch s.Outcome() {
	case capture.OutcomeFailed:
		parts = append(parts, text.Sanitize(s.Error))
	case capture.OutcomeRejected:
		parts = append(parts, text.Sanitize(s.RejectReason))
	}
	if s.ReplayOf != "" {
		parts = append(parts, "replay of "+ShortID(s.ReplayOf))
	}
	if s.Flags.Has(capture.FlagBackfill) {
		parts = append(parts, "backfill")
	}
	if s.Flags.Has(capture.FlagQueued) {
		parts = append(parts, QueuedNote(*s))
	}
	if s.Flags.Has(capture.FlagFromOmega) {
		parts = append(parts, "from Omega")
	}
	return strings.Join(parts, " · ")
}

func codeText(s *capture.Summary) string {
	switch s.Outcome() {
	case capture.OutcomePending:
		return "…"
	case capture.OutcomeFailed:
		return "fail"
	case capture.OutcomeRejected:
		return fmt.Sprint(s.SentStatus)
	}
	return fmt.Sprint(s.Status)
}

func (m *Model) rowLine(s *capture.Summary, selected bool, c columns) string {
	st := m.st
	o := s.Outcome()
	earlier := s.SessionID != m.info.SessionID
	// Selected and earlier rows are styled as a whole; others per cell.
	plain := selected || earlier || m.noColor
	cell := func(text string, style func(string) string) string {
		if plain {
			return text
		}
		return style(text)
	}
	oc := func(t string) string { return st.outcome[o].Render(t) }
	mk := func(t string) string { return st.mark.Render(t) }
	dim := func(t string) string { return st.dim.Render(t) }

	var b strings.Builder
	if selected {
		b.WriteString("> ")
	} else {
		b.WriteString("  ")
	}
	b.WriteString(cell(mark(s), mk))
	b.WriteByte(' ')
	layoutTime := "15:04:05"
	if c.long {
		layoutTime = "01-02 15:04:05"
	}
	b.WriteString(s.ReceivedAt.In(m.loc).Format(layoutTime))
	b.WriteString("  ")
	b.WriteString(cell(padLeft(codeText(s), colStatus), oc))
	if c.lat > 0 {
		b.WriteString("  ")
		lat := ""
		switch {
		case o == capture.OutcomePending && !s.ReceivedAt.IsZero():
			// How long the app has had it so far.
			lat = fmtElapsed(m.now().Sub(s.ReceivedAt))
		case s.Duration > 0:
			lat = text.Duration(s.Duration)
		}
		b.WriteString(padLeft(lat, colLat))
	}
	if c.typ > 0 {
		b.WriteString("  ")
		label := eventLabel(s)
		if c.short {
			label = strings.TrimPrefix(label, "video.")
		}
		b.WriteString(cell(pad(label, c.typ), oc))
	}
	if c.capID > 0 {
		b.WriteString("  ")
		b.WriteString(cell(pad(text.Sanitize(ShortID(s.ID)), c.capID), dim))
	}
	if c.id > 0 {
		b.WriteString("  ")
		b.WriteString(cell(pad(text.Sanitize(s.EventID), c.id), dim))
	}
	if c.note > 0 {
		if n := note(s); n != "" {
			b.WriteString("  ")
			if ansi.StringWidth(n) > c.note {
				n = ansi.Truncate(n, c.note, "…")
			}
			b.WriteString(cell(n, dim))
		}
	}
	line := b.String()
	switch {
	case m.noColor:
		return line
	case selected:
		return st.selected.Render(pad(line, m.width))
	case earlier:
		return st.dim.Render(line)
	}
	return line
}

// below counts the rows under the list's last line on screen: new ones
// that arrived while the user scrolled away.
func (m *Model) below(p *pane) int {
	last := p.top + m.listHeight() - 1 // the last display line on screen
	if d, ok := m.divider(p); ok && last >= d {
		last-- // the divider takes a line
	}
	return max(0, p.rows.len()-1-last)
}

func (m *Model) helpView() []string {
	st := m.st
	lines := []string{st.title.Render("omega-listen · keys"), ""}
	if len(m.info.Events) > 0 {
		lines = append(lines, "Events: "+text.Sanitize(strings.Join(m.info.Events, ", ")), "")
	}
	lines = append(lines, strings.Split(m.help.FullHelpView(listHelp{&m.keys}.FullHelp()), "\n")...)
	lines = append(lines, "",
		"Filter (/): type:video.process_succeeded (or a prefix: video.process),",
		"  status:2xx|4xx|5xx|ok|error|failed|rejected|pending, other words: text in the body.",
		"Marks: ↺ replay  ⇤ backfill  Ω from Omega (replay --from-omega)  ✗ rejected. Dim rows are from earlier sessions.",
		"",
		st.dim.Render("? or esc closes this help"))
	return lines
}

func (m *Model) shutdownView() []string {
	st := m.st
	lines := []string{st.title.Render("Shutting down…"), ""}
	// The newest lines that fit; all of them while the size is unknown.
	start := 0
	if room := m.height - 4; room > 0 {
		start = max(0, len(m.shutdownLines)-room)
	}
	for _, l := range m.shutdownLines[start:] {
		lines = append(lines, "  "+text.Sanitize(l))
	}
	lines = append(lines, "", st.dim.Render("ctrl-c again quits at once"))
	return lines
}

// QueuedNote marks a delivery the relay held while the listener was
// away, for the screen and the lines: "queued 12:03:04", or "queued by
// the relay" when the time is not known (a summary read from the index).
func QueuedNote(s capture.Summary) string {
	if s.QueuedAt.IsZero() {
		return "queued by the relay"
	}
	return "queued " + s.QueuedAt.Local().Format("15:04:05")
}

// ShortID is a capture ID as rows and lines show it: "c_" and the first
// 12 characters, which every command taking a capture ID accepts (a
// prefix that fits more than one capture is refused with the candidates).
func ShortID(id string) string {
	if len(id) <= shortIDLen {
		return id
	}
	return id[:shortIDLen]
}

const shortIDLen = 14

// fmtElapsed is a pending delivery's time so far: 850ms…, 12s…, 3m5s….
func fmtElapsed(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d >= time.Minute:
		return d.Truncate(time.Second).String() + "…"
	case d >= time.Second:
		return fmt.Sprintf("%ds…", int(d.Seconds()))
	}
	return fmt.Sprintf("%dms…", d.Milliseconds())
}
