package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want, wantLines string }{
		{"plain text", "plain text", "plain text"},
		{"héllo wörld ✓", "héllo wörld ✓", "héllo wörld ✓"},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},                            // CSI: clear screen
		{"\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`, `\x1b]52;c;ZXZpbA==\x07`}, // OSC 52: set clipboard
		{"\x1b]0;title\x1b\\", `\x1b]0;title\x1b\`, `\x1b]0;title\x1b\`},               // OSC with ST
		{"\u009b31m", `\u009b31m`, `\u009b31m`},                                        // 8-bit CSI
		{"a\nb\r\nc\td", `a\nb\r\nc\td`, "a\nb\\r\nc\\td"},                             // line breaks kept only by sanitizeLines
		{"\xff\xfeok", `\xff\xfeok`, `\xff\xfeok`},                                     // invalid UTF-8
		{"evil\u202egnp.exe", `evil\u202egnp.exe`, `evil\u202egnp.exe`},                // bidi override
		{"a\u2028b", `a\u2028b`, `a\u2028b`},                                           // line separator
		{"\x00\x7f", `\x00\x7f`, `\x00\x7f`},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sanitizeLines(tt.in); got != tt.wantLines {
			t.Errorf("sanitizeLines(%q) = %q, want %q", tt.in, got, tt.wantLines)
		}
	}
}

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
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[2J", "\x1b]52;c;AA\x07", "a\nb\r\n", "\xff", "\u202e", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{sanitize(s), sanitizeLines(s)} {
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8 out: %q", got)
			}
			for _, r := range got {
				if unsafeRune(r) && r != '\n' {
					t.Fatalf("unsafe rune %U in %q (from %q)", r, got, s)
				}
			}
		}
		if strings.ContainsRune(sanitize(s), '\n') {
			t.Fatalf("sanitize kept a newline: %q", s)
		}
		if isSafe(s, false) && sanitize(s) != s {
			t.Fatalf("changed safe text %q", s)
		}
	})
}
