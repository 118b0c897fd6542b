package tui

import (
	"strings"
	"testing"
)

// The header names the web inspector's URL when there is one.
func TestHeaderShowsTheWebInspector(t *testing.T) {
	m, _ := started(t, nil, 120, 20)
	if strings.Contains(m.View().Content, "web http") {
		t.Error("a web URL shown with none given")
	}
	m.info.Web = "http://127.0.0.1:4040"
	head := strings.Join(strings.Split(m.View().Content, "\n")[:3], "\n")
	if !strings.Contains(head, "web http://127.0.0.1:4040") {
		t.Errorf("header lacks the web inspector:\n%s", head)
	}
}
