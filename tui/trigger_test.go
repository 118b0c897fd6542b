package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/omega"
)

func TestGoldenEmptyHowToSend(t *testing.T) {
	m, _ := started(t, nil, 100, 12)
	golden(t, "empty_no_emulator", screen(t, m))

	fs := &fakeStore{}
	acts := fs.actions()
	acts.Trigger = func(context.Context, string) (string, error) { return "", nil }
	m = newTestModel(t, acts, 100, 12)
	run(m, m.Init())
	golden(t, "empty_emulator", screen(t, m))
}

func TestTriggerKeySendsTheChosenType(t *testing.T) {
	fs := &fakeStore{}
	acts := fs.actions()
	var sent []string
	acts.Trigger = func(_ context.Context, typ string) (string, error) {
		sent = append(sent, typ)
		return "Omega (emulator) delivered " + typ + " [6b0000000000000000000001] → 200 OK", nil
	}
	m := newTestModel(t, acts, 100, 14)
	run(m, m.Init())
	press(m, "t")
	golden(t, "picker", screen(t, m))
	press(m, "enter")
	if len(sent) != 1 || sent[0] != omega.TypeProcessSucceeded {
		t.Fatalf("enter sent %v, want the first type, %s", sent, omega.TypeProcessSucceeded)
	}
	if !strings.Contains(m.status, "delivered video.process_succeeded") || m.pick != nil {
		t.Errorf("status %q, picker %v", m.status, m.pick)
	}
	press(m, "t", "2")
	if len(sent) != 2 || sent[1] != omega.TypeProcessFailed {
		t.Errorf("2 sent %v, want %s", sent, omega.TypeProcessFailed)
	}
	press(m, "t", "esc", "enter")
	if len(sent) != 2 || m.pick != nil {
		t.Errorf("esc then enter sent %v", sent)
	}
}

func TestTriggerKeyWithoutEmulatorSaysHow(t *testing.T) {
	m, _ := started(t, nil, 100, 12)
	press(m, "t")
	if m.pick != nil || !strings.Contains(m.status, "omega-listen trigger") {
		t.Errorf("picker %v, status %q", m.pick, m.status)
	}
}

// TestPickerFitsSmallScreens: at 30×8 the picker shows a window of types
// that follows the selection.
func TestPickerFitsSmallScreens(t *testing.T) {
	fs := &fakeStore{}
	acts := fs.actions()
	acts.Trigger = func(context.Context, string) (string, error) { return "", nil }
	m := newTestModel(t, acts, 30, 8)
	m.info.Events = nil // all live types: five
	run(m, m.Init())
	press(m, "t", "down", "down", "down", "down")
	s := screen(t, m)
	if !strings.Contains(s, "> 5 ") {
		t.Errorf("the selected (fifth) type is not on screen:\n%s", s)
	}
}
