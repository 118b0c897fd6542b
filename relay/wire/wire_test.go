package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	at := time.Unix(0, 1764680000123456789)
	frames := []struct {
		name string
		f    any
	}{
		{"every field of a delivery", &Deliver{ID: 7, Queued: true, AcceptedAt: at, Method: "POST", Target: "/omega/tok?a=1&a=2", Host: "hooks.example.com",
			RemoteAddr: "203.0.113.9:4242", Header: []Header{{"X-Dup", "1"}, {"Content-Type", "application/json"}, {"X-Dup", "2"}},
			Body: []byte(`{"id":"e"}`)}},
		{"a bare delivery", &Deliver{ID: 1, Method: "POST", Target: "/"}},
		{"every field of a response", &Response{ID: 9, Queued: true, Taken: true, Status: 201, Header: []Header{{"Set-Cookie", "a"}, {"Set-Cookie", "b"}}, Body: []byte("ok\n")}},
		{"a bare response", &Response{ID: 2, Status: 502}},
		{"hello", &Hello{Name: "alice", PublicURL: "https://hooks.example.com/c/alice", Epoch: "e1", Queued: 12}},
	}
	for _, tc := range frames {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			switch v := tc.f.(type) {
			case *Deliver:
				b = EncodeDeliver(nil, v)
			case *Response:
				b = EncodeResponse(nil, v)
			case *Hello:
				b = EncodeHello(nil, v)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%T): %v", tc.f, err)
			}
			if !reflect.DeepEqual(got, tc.f) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, tc.f)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := EncodeDeliver(nil, &Deliver{ID: 1, Method: "POST", Target: "/x", Header: []Header{{"A", "b"}}, Body: []byte("body")})
	cases := map[string][]byte{
		"empty":          nil,
		"unknown type":   {9},
		"truncated":      good[:len(good)-1],
		"trailing":       append(bytes.Clone(good), 0),
		"bad flag":       {TypeDeliver, 1, 2},
		"huge length":    {TypeHello, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"header count":   {TypeResponse, 1, 0, 1, 200, 1, 0xff, 0xff, 0x03},
		"status > 999":   {TypeResponse, 1, 0, 1, 0xe8, 0x07, 0, 0},
		"varint overrun": {TypeDeliver, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if v, err := Decode(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: Decode = %#v, %v; want ErrMalformed", name, v, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(EncodeDeliver(nil, &Deliver{ID: 3, Queued: true, AcceptedAt: time.Unix(1, 2), Method: "POST", Target: "/a?b", Header: []Header{{"K", "v"}, {"K", "w"}}, Body: []byte("{}")}))
	f.Add(EncodeResponse(nil, &Response{ID: 1, Taken: true, Status: 200, Body: []byte("ok")}))
	f.Add(EncodeHello(nil, &Hello{Name: "n", PublicURL: "http://x/c/n", Epoch: "e"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes re-encodes to a frame that decodes to the same.
		var again []byte
		switch f := v.(type) {
		case *Deliver:
			again = EncodeDeliver(nil, f)
		case *Response:
			again = EncodeResponse(nil, f)
		case *Hello:
			again = EncodeHello(nil, f)
		default:
			t.Fatalf("Decode returned %T", v)
		}
		w, err := Decode(again)
		if err != nil || !reflect.DeepEqual(w, v) {
			t.Fatalf("re-encoded frame decodes to %#v, %v; want %#v", w, err, v)
		}
	})
}
