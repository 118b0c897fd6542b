package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// detailState is the detail view of one capture. The whole capture (with
// bodies) is held only while it is open.
type detailState struct {
	id      string
	sum     capture.Summary
	c       *capture.Capture // nil until loaded
	err     error
	loading bool
	replays *rowList // captures that replay this one
	raw     bool
	vp      viewport.Model
}

// detailChanged applies rows that changed to the open detail view: its own
// row (reloading it once it finishes) and replays of it.
func (m *Model) detailChanged(changed []capture.Summary) tea.Cmd {
	var cmd tea.Cmd
	dirty := false
	for i := range changed {
		s := changed[i]
		if s.ID == m.det.id {
			m.det.sum = s
			dirty = true
			if m.det.c != nil && m.det.c.State != capture.StateDone && s.State == capture.StateDone && m.act.Load != nil {
				cmd = m.loadCmd(s.ID)
			}
		}
		if s.ReplayOf != "" && s.ReplayOf == m.det.id {
			if m.det.replays == nil {
				m.det.replays = newRowList()
			}
			m.det.replays.merge([]capture.Summary{s}, nil, nil)
			dirty = true
		}
	}
	if dirty {
		m.renderDetail()
	}
	return cmd
}

func (m *Model) detailHeight() int { return max(1, m.height-3) }

// renderDetail rebuilds the detail view's content. It runs when the
// content or the size changes, not on every frame: the viewport then
// shows only the lines on screen.
func (m *Model) renderDetail() {
	if m.mode != modeDetail {
		return
	}
	vp := &m.det.vp
	vp.SetWidth(m.width)
	vp.SetHeight(m.detailHeight())
	var lines []string
	for _, l := range m.detailLines() {
		if ansi.StringWidth(l) <= m.width {
			lines = append(lines, l)
			continue
		}
		// At spaces where there are some, so a value (a time, an ID)
		// is not cut in two; mid-word only for what has none.
		lines = append(lines, strings.Split(ansi.Wrap(l, m.width, ""), "\n")...)
	}
	off := vp.YOffset()
	vp.SetContentLines(lines)
	vp.SetYOffset(off)
}

func (m *Model) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if m.width < 36 {
		return t.In(m.loc).Format("01-02 15:04:05") // fits beside its label
	}
	return t.In(m.loc).Format("2006-01-02 15:04:05.000")
}

func (m *Model) detailTitle() string {
	s := m.det.sum
	st := m.st
	parts := []string{st.title.Render("capture " + s.ID)}
	if t := eventLabel(&s); t != "" {
		parts = append(parts, st.outcome[s.Outcome()].Render(t))
	}
	parts = append(parts, st.outcome[s.Outcome()].Render(outcomeText(&s)))
	if s.Duration > 0 {
		parts = append(parts, text.Duration(s.Duration))
	}
	return strings.Join(parts, " · ")
}

// outcomeText says in a few words how the delivery went.
func outcomeText(s *capture.Summary) string {
	switch s.Outcome() {
	case capture.OutcomePending:
		return "waiting for the app"
	case capture.OutcomeRejected:
		return fmt.Sprintf("rejected (%d)", s.SentStatus)
	case capture.OutcomeFailed:
		if s.SentStatus != 0 {
			return fmt.Sprintf("app not reached (%d sent)", s.SentStatus)
		}
		return "app not reached"
	}
	return statusText(s.Status)
}

func (m *Model) detailLines() []string {
	st := m.st
	s := m.det.sum
	var out []string
	field := func(name, value string) {
		out = append(out, st.key.Render(fmt.Sprintf("%-11s", name))+" "+value)
	}
	rcv := m.fmtTime(s.ReceivedAt)
	if s.SessionID != m.info.SessionID {
		rcv += st.dim.Render("  (earlier session)")
	}
	field("Received", rcv)
	if !s.CompletedAt.IsZero() {
		done := m.fmtTime(s.CompletedAt)
		if s.Duration > 0 {
			done += "  (" + text.Duration(s.Duration) + ")"
		}
		field("Completed", done)
	}
	oc := st.outcome[s.Outcome()]
	switch s.Outcome() {
	case capture.OutcomeOK, capture.OutcomeAppError:
		field("Outcome", oc.Render("the app answered "+statusText(s.Status)))
	case capture.OutcomeFailed:
		field("Outcome", oc.Render("the app was not reached"))
		if s.SentStatus != 0 {
			field("", fmt.Sprintf("Omega was answered %s", statusText(s.SentStatus)))
		}
	case capture.OutcomeRejected:
		field("Outcome", oc.Render(fmt.Sprintf("rejected, not forwarded; answered %s", statusText(s.SentStatus))))
	default:
		field("Outcome", oc.Render("waiting for the app…"))
	}
	if s.Error != "" {
		field("Error", st.errText.Render(text.Sanitize(s.Error)))
	}
	if s.RejectReason != "" {
		field("Reason", text.Sanitize(s.RejectReason))
	}
	if s.EventType != "" || s.EventID != "" {
		field("Event", text.Sanitize(s.EventType)+"  "+text.Sanitize(s.EventID))
	}
	if !s.EventCreated.IsZero() {
		field("Created", m.fmtTime(s.EventCreated))
	}
	if s.EndpointID != "" {
		field("Endpoint", text.Sanitize(s.EndpointID))
	}
	if s.Target != "" {
		field("Target", text.Sanitize(s.Target))
	}
	if marks := flagWords(s.Flags); marks != "" {
		field("Marks", st.mark.Render(marks))
	}
	if s.ReplayOf != "" {
		field("Replay of", text.Sanitize(s.ReplayOf))
	}
	if r := m.det.replays; r != nil && r.len() > 0 {
		for i, x := range r.rows {
			name := ""
			if i == 0 {
				name = "Replays"
			}
			field(name, fmt.Sprintf("%s  %s  %s", x.ID, m.fmtTime(x.ReceivedAt),
				st.outcome[x.Outcome()].Render(outcomeText(&x))))
		}
	}
	out = append(out, "")
	switch {
	case m.det.err != nil:
		out = append(out, st.errText.Render("could not read the capture: "+text.Sanitize(m.det.err.Error())))
		return out
	case m.det.c == nil && m.det.loading:
		out = append(out, st.dim.Render("loading…"))
		return out
	case m.det.c == nil:
		out = append(out, st.dim.Render("headers and bodies not available"))
		return out
	}
	c := m.det.c
	// The app's answer first: it is short, and it is what one opens a
	// delivery to see; the request body below it can run to pages.
	out = append(out, m.section("Response (the app's answer)"))
	switch {
	case c.State == capture.StatePending:
		out = append(out, st.dim.Render("waiting for the app…"))
	case c.Status == 0:
		out = append(out, st.errText.Render("no answer from the app"))
	default:
		out = append(out, st.outcome[s.Outcome()].Render(statusText(c.Status)))
		out = append(out, m.headerLines(c.RespHeaders)...)
		out = append(out, "")
		out = append(out, m.bodyLines(c.RespBody, false)...)
	}
	out = append(out, "")
	out = append(out, m.section("Request"))
	req := text.Sanitize(c.Method) + " " + text.Sanitize(c.Path)
	if c.RemoteAddr != "" {
		req += st.dim.Render("  from " + text.Sanitize(c.RemoteAddr))
	}
	out = append(out, req)
	out = append(out, m.headerLines(c.Headers)...)
	out = append(out, "")
	out = append(out, m.bodyLines(c.Body, c.Flags.Has(capture.FlagTruncated))...)
	return out
}

func (m *Model) section(name string) string {
	return m.st.title.Render(name) + " " + m.st.divider.Render(strings.Repeat("─", max(0, min(m.width, 80)-ansi.StringWidth(name)-1)))
}

func flagWords(f capture.Flags) string {
	var w []string
	for _, x := range []struct {
		f    capture.Flags
		word string
	}{
		{capture.FlagBackfill, "backfill (from Omega's history)"},
		{capture.FlagFromOmega, "from Omega (replay --from-omega)"},
		{capture.FlagNotJSON, "not JSON"},
		{capture.FlagNotOmega, "not an Omega event"},
		{capture.FlagTruncated, "body truncated in the store"},
		{capture.FlagQueued, "queued by the relay while the listener was away"},
		{capture.FlagRejected, "rejected"},
	} {
		if f.Has(x.f) {
			w = append(w, x.word)
		}
	}
	return strings.Join(w, ", ")
}

func (m *Model) headerLines(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, m.st.key.Render(text.Sanitize(k)+":")+" "+text.Sanitize(v))
		}
	}
	return out
}

// bodyLines shows a body: JSON pretty-printed and coloured, anything else
// (or everything, in the raw view) as its bytes with control characters
// escaped.
func (m *Model) bodyLines(body []byte, truncated bool) []string {
	st := m.st
	if len(body) == 0 {
		return []string{st.dim.Render("(empty body)")}
	}
	shown := body
	note := ""
	if len(shown) > maxShownBody {
		shown = shown[:maxShownBody]
		note = fmt.Sprintf("… showing the first %d KiB of %d bytes; c copies all of it", maxShownBody>>10, len(body))
	}
	isJSON := len(shown) == len(body) && json.Valid(body)
	head := fmt.Sprintf("Body · %d bytes", len(body))
	if isJSON {
		head += " · JSON"
	}
	if truncated {
		head += " · truncated in the store"
	}
	var shownText string
	if isJSON && !m.det.raw {
		head += " · v: raw"
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err == nil {
			shownText = m.colorJSON(buf.Bytes())
		}
	}
	if shownText == "" {
		if isJSON {
			head += " · v: pretty"
		}
		shownText = text.SanitizeLines(string(shown))
	}
	out := []string{st.dim.Render(head)}
	out = append(out, strings.Split(shownText, "\n")...)
	if note != "" {
		out = append(out, st.dim.Render(note))
	}
	return out
}

// colorJSON colours indented JSON token by token. Tokens never span
// lines, so every line carries its own styles.
func (m *Model) colorJSON(src []byte) string {
	if m.noColor {
		return text.SanitizeLines(string(src))
	}
	st := m.st
	var b strings.Builder
	b.Grow(len(src) * 2)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			tok := text.Sanitize(string(src[i:j]))
			k := j
			for k < len(src) && (src[k] == ' ' || src[k] == '\n') {
				k++
			}
			if k < len(src) && src[k] == ':' {
				b.WriteString(st.jsonKey.Render(tok))
			} else {
				b.WriteString(st.jsonString.Render(tok))
			}
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i
			for j < len(src) && strings.IndexByte("0123456789+-.eE", src[j]) >= 0 {
				j++
			}
			b.WriteString(st.jsonNumber.Render(string(src[i:j])))
			i = j
		case c >= 'a' && c <= 'z':
			j := i
			for j < len(src) && src[j] >= 'a' && src[j] <= 'z' {
				j++
			}
			b.WriteString(st.jsonLiteral.Render(string(src[i:j])))
			i = j
		case strings.IndexByte("{}[],:", c) >= 0:
			b.WriteString(st.jsonPunct.Render(string(c)))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
