package tui

import (
	"fmt"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
)

// picker chooses the event type `t` sends (with the emulator): the
// endpoint's subscribed types, or the live ones when it takes all.
type picker struct {
	types []string
	sel   int
}

type triggerDoneMsg struct {
	typ, text string
	err       error
}

func (m *Model) pickerTypes() []string {
	ts := omega.LiveTypes()
	if len(m.info.Events) > 0 {
		ts = m.info.Events
	}
	// The happy path first: enter alone sends a success.
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if t == omega.TypeProcessSucceeded {
			out = append(out, t)
		}
	}
	for _, t := range ts {
		if t != omega.TypeProcessSucceeded {
			out = append(out, t)
		}
	}
	return out
}

// openPicker starts choosing a sample event to send.
func (m *Model) openPicker() tea.Cmd {
	if m.act.Trigger == nil {
		return m.setStatus("sending a sample event needs --emulate (with real Omega: `omega-listen trigger TYPE` posts one to the listener)", true)
	}
	m.pick = &picker{types: m.pickerTypes()}
	return nil
}

func (m *Model) onPickerKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.pick
	switch {
	case key.Matches(k, m.keys.Back):
		m.pick = nil
		return nil
	case key.Matches(k, m.keys.Up):
		p.sel = max(0, p.sel-1)
	case key.Matches(k, m.keys.Down):
		p.sel = min(len(p.types)-1, p.sel+1)
	case key.Matches(k, m.keys.Open):
		return m.sendSample(p.types[p.sel])
	default:
		if n, err := strconv.Atoi(k.String()); err == nil && n >= 1 && n <= len(p.types) {
			return m.sendSample(p.types[n-1])
		}
	}
	return nil
}

func (m *Model) sendSample(typ string) tea.Cmd {
	m.pick = nil
	trigger, ctx := m.act.Trigger, m.ctx
	return tea.Batch(m.setStatus("sending a sample "+typ+"…", false), func() tea.Msg {
		text, err := trigger(ctx, typ)
		return triggerDoneMsg{typ: typ, text: text, err: err}
	})
}

func (m *Model) onTriggerDone(msg triggerDoneMsg) tea.Cmd {
	if msg.err != nil {
		return m.setStatus(fmt.Sprintf("sending a sample %s failed: %s", msg.typ, text.Sanitize(msg.err.Error())), true)
	}
	return m.setStatus(text.Sanitize(msg.text), false)
}

// pickerLines replace the list while choosing.
func (m *Model) pickerLines() []string {
	st := m.st
	out := []string{st.title.Render("Send a sample event") + st.dim.Render(" (the emulator delivers it as Omega would)")}
	// As many types as fit (header 3, title, hint, status, help), in a
	// window that keeps the selected one in view.
	types := m.pick.types
	room := max(1, m.height-7)
	first := 0
	if len(types) > room {
		first = min(max(0, m.pick.sel-room/2), len(types)-room)
	}
	for i := first; i < min(len(types), first+room); i++ {
		t := types[i]
		prefix := "  "
		if i == m.pick.sel {
			prefix = "> "
		}
		num := "  "
		if i < 9 {
			num = strconv.Itoa(i+1) + " "
		}
		line := prefix + num + text.Sanitize(t)
		if i == m.pick.sel && !m.noColor {
			line = st.selected.Render(pad(line, m.width))
		}
		out = append(out, line)
	}
	out = append(out, st.dim.Render("enter or 1-9: send · esc: cancel"))
	return out
}

// howToSend is the empty list's hint: how to get a first delivery.
func (m *Model) howToSend() []string {
	st := m.st
	typ := omega.TypeProcessSucceeded
	if ts := m.pickerTypes(); len(ts) > 0 {
		typ = ts[0]
	}
	if m.act.Trigger != nil {
		return []string{st.dim.Render("  press t to send a sample event (the emulator delivers it as Omega would)")}
	}
	return []string{st.dim.Render("  send one from another shell:  omega-listen trigger " + typ)}
}
