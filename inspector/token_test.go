package inspector

import (
	"errors"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		if len(tok) != MinTokenLen {
			t.Fatalf("NewToken() = %q, %d characters; want %d", tok, len(tok), MinTokenLen)
		}
		if err := ValidToken(tok); err != nil {
			t.Fatalf("ValidToken(NewToken()) = %v", err)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestValidToken(t *testing.T) {
	tests := []struct {
		name    string
		tok     string
		wantErr string
	}{
		{name: "22 characters", tok: "abcdefghijklmnopqrstuv"},
		{name: "every kind of allowed character", tok: "ABCDEFGHIJ_0123456789-xyz"},
		{name: "200 characters", tok: strings.Repeat("a", 200)},
		{name: "empty", tok: "", wantErr: "0 characters long"},
		{name: "21 characters", tok: "abcdefghijklmnopqrstu", wantErr: "21 characters long"},
		{name: "slash", tok: "abcdefghijklmnopqrstu/", wantErr: "position 22"},
		{name: "space", tok: "abcdefghij klmnopqrstuv", wantErr: "not allowed"},
		{name: "equals sign", tok: "abcdefghijklmnopqrstuv=", wantErr: "not allowed"},
		{name: "escaped slash", tok: "abcdefghijklmnopqrstuv%2F", wantErr: "not allowed"},
		{name: "non-ASCII", tok: "abcdefghijklmnopqrstuvé", wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidToken(tt.tok)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidToken(%q) = %v, want nil", tt.tok, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ValidToken(%q) = %v, want error containing %q", tt.tok, err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), "use at least 22 characters"):
				t.Errorf("ValidToken(%q) error %q does not say what to do", tt.tok, err)
			case err != nil && strings.Contains(err.Error(), "--"):
				t.Errorf("ValidToken(%q) error %q names a flag: the command layer does that", tt.tok, err)
			}
			if te := (*TokenError)(nil); err != nil && (!errors.As(err, &te) || te.Len != len(tt.tok)) {
				t.Errorf("ValidToken(%q) = %v, want a TokenError of length %d", tt.tok, err, len(tt.tok))
			}
		})
	}
}

func FuzzValidToken(f *testing.F) {
	for _, s := range []string{"", "abcdefghijklmnopqrstuv", "abcdefghijklmnopqrstu", "a/b", "\x00", NewToken()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidToken(s)
		if err != nil {
			if strings.Contains(err.Error(), s) && len(s) >= MinTokenLen {
				t.Fatalf("error %q repeats the secret token", err)
			}
			return
		}
		if len(s) < MinTokenLen {
			t.Fatalf("ValidToken accepted %q, %d characters", s, len(s))
		}
		// A valid token is one path segment that needs no escaping, so
		// the registered URL and the path the Handler compares agree.
		for _, c := range []byte(s) {
			if !tokenChar(c) {
				t.Fatalf("ValidToken accepted %q with %q", s, c)
			}
		}
		h := NewHandler(HandlerOptions{Token: s, Forwarder: NewForwarder(ForwarderOptions{}), Recorder: &fakeRecorder{}})
		if h.Path() != "/omega/"+s {
			t.Fatalf("Path() = %q", h.Path())
		}
	})
}
