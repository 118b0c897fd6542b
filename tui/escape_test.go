package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// TestViewsEscapeOutsideText puts escape sequences in every field that
// comes from outside and checks that no screen carries them raw.
func TestViewsEscapeOutsideText(t *testing.T) {
	const evil = "\x1b[31mred\x1b]52;c;AAAA\x07\x9b2J"
	c := fixture(80, "video.process_succeeded"+evil, 500)
	c.EventID = "evt" + evil
	c.Path = "/omega/" + evil
	c.Method = "POST" + evil
	c.Headers.Set("X-Evil"+evil, "v"+evil)
	c.Body = []byte(`{"k":"` + evil + `"}` + evil)
	c.Error = "dial" + evil
	c.RespHeaders.Set("X-Evil", evil)
	c.RespBody = []byte(evil)
	c.RemoteAddr = evil
	for _, noColor := range []bool{true, false} {
		t.Run(map[bool]string{true: "no colour", false: "colour"}[noColor], func(t *testing.T) {
			fs := &fakeStore{}
			fs.add(c)
			m := New(Options{Info: testInfo, Actions: fs.actions(), NoColor: noColor})
			m.loc = time.UTC
			m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
			m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
			run(m, m.Init())
			m.Update(TunnelMsg{State: "reconnecting", Err: evil})
			screens := []string{m.View().Content}
			press(m, "enter")
			screens = append(screens, m.View().Content)
			press(m, "v")
			screens = append(screens, m.View().Content)
			press(m, "esc", "q")
			m.Update(ShutdownMsg{Line: evil})
			screens = append(screens, m.View().Content)
			for i, s := range screens {
				for _, bad := range []string{"\x1b[31mred", "\x1b]", "\x07", "\u009b", "\x9b"} {
					if strings.Contains(s, bad) {
						t.Errorf("colour %v, screen %d holds %q raw:\n%q", !noColor, i, bad, s)
					}
				}
				if !strings.Contains(s, `\x1b[31mred`) {
					t.Errorf("colour %v, screen %d does not show the escaped text:\n%s", !noColor, i, s)
				}
			}
		})
	}
}
