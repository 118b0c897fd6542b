package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestGoVersionAgrees: the README's "Go X or newer" is go.mod's go line,
// and that line is the real floor: no dependency asks for a newer Go.
func TestGoVersionAgrees(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	goLine := string(m[1])
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	said := regexp.MustCompile(`Go (1\.[0-9.]+) or newer`).FindAllSubmatch(readme, -1)
	if len(said) == 0 {
		t.Fatal(`README.md says nowhere "Go 1.x or newer"`)
	}
	for _, s := range said {
		if string(s[1]) != goLine {
			t.Errorf("README.md says Go %s, go.mod says %s", s[1], goLine)
		}
	}
	out, err := exec.Command("go", "list", "-mod=readonly", "-m", "-f", "{{.Path}} {{.GoVersion}}", "all").Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	floor := ""
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] != modulePath && newerGo(f[1], floor) {
			floor = f[1]
		}
	}
	if floor != "" && newerGo(floor, goLine) {
		t.Errorf("a dependency needs Go %s, but go.mod says %s", floor, goLine)
	}
	if floor != "" && newerGo(goLine, floor) {
		t.Errorf("go.mod says Go %s, above the real floor %s (the newest a dependency asks for): lower it", goLine, floor)
	}
}

// newerGo reports whether Go version a is newer than b ("" is oldest).
func newerGo(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if b == "" {
		return a != ""
	}
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}
