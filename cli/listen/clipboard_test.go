package listen

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSystemClipboard(t *testing.T) {
	bin := t.TempDir()
	got := filepath.Join(t.TempDir(), "clip")
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n" + cat + " > " + got + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cp := systemClipboard(env(map[string]string{"DISPLAY": ":0"}), "linux")
	if cp == nil {
		t.Fatal("no clipboard with DISPLAY set and xclip on the PATH")
	}
	if via, err := cp("hello"); err != nil || via != "xclip" {
		t.Fatalf("copy = %q, %v", via, err)
	}
	if b, _ := os.ReadFile(got); string(b) != "hello" {
		t.Errorf("xclip got %q", b)
	}
	if systemClipboard(env(map[string]string{"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"}), "linux") != nil {
		t.Error("over SSH the local clipboard is the wrong one")
	}
	if systemClipboard(env(map[string]string{}), "linux") != nil {
		t.Error("no display, yet a clipboard")
	}
}
