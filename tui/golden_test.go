package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func screen(t *testing.T, m *Model) string {
	t.Helper()
	s := m.View().Content
	if strings.ContainsRune(s, '\x1b') {
		t.Fatalf("colour is off but the view holds an escape sequence:\n%q", s)
	}
	if n := strings.Count(s, "\n") + 1; n > m.height {
		t.Fatalf("view is %d lines, the screen %d", n, m.height)
	}
	for i, l := range strings.Split(s, "\n") {
		if w := ansi.StringWidth(l); w > m.width {
			t.Fatalf("line %d is %d wide, the screen %d: %q", i, w, m.width, l)
		}
	}
	return s
}

func TestGoldenList(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 20)
	golden(t, "list", screen(t, m))
}

func TestGoldenDetailJSON(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 40)
	press(m, "k", "k", "k", "k", "k", "enter") // the first row of this session
	if m.mode != modeDetail || m.det.c == nil {
		t.Fatalf("detail not open and loaded: mode %v, capture %v", m.mode, m.det.c)
	}
	golden(t, "detail_json", screen(t, m))
	press(m, "v")
	golden(t, "detail_raw", screen(t, m))
}

func TestGoldenDetailFailed(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 40)
	press(m, "k", "k", "k", "enter")
	if m.det.sum.Error == "" {
		t.Fatalf("selected %s, not the failed delivery", m.det.id)
	}
	golden(t, "detail_failed", screen(t, m))
}

func TestGoldenHelp(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 30)
	press(m, "?")
	golden(t, "help", screen(t, m))
}

func TestGoldenFilter(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 20)
	press(m, "/")
	typeText(m, "status:5xx,failed video.process")
	golden(t, "filter_typing", screen(t, m))
	press(m, "enter")
	golden(t, "filter_active", screen(t, m))
}

func TestGoldenNarrow(t *testing.T) {
	m, _ := started(t, fixtures(), 60, 15)
	golden(t, "narrow", screen(t, m))
	press(m, "k", "k", "enter")
	golden(t, "narrow_detail", screen(t, m))
}
