package sessionhttp

import (
	"net/http"
	"strings"
	"testing"

	sessiond "sessiond.dev/client/go"
)

func requestWithCookie(value string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "sessiond="+value)
	return r
}

func TestSignedCookieIs76CharactersAndVerifiesWithAnySecret(t *testing.T) {
	id := sessiond.NewID()
	old := cookieCodec{name: "sessiond", secrets: [][]byte{[]byte("old")}}
	rotated := cookieCodec{name: "sessiond", secrets: [][]byte{[]byte("new"), []byte("old")}}
	value := old.value(id)
	if len(value) != 76 || !strings.HasPrefix(value, id+".") {
		t.Fatalf("signed value %q: want 76 characters starting with the id", value)
	}
	if got, _ := rotated.id(requestWithCookie(value)); got != id {
		t.Errorf("a cookie signed with the older secret reads %q, want %q", got, id)
	}
	if got, _ := old.id(requestWithCookie(rotated.value(id))); got != "" {
		t.Error("a cookie signed with a secret not configured was accepted")
	}
}

func TestMalformedCookiesAreNoCookie(t *testing.T) {
	id := sessiond.NewID()
	signed := cookieCodec{name: "sessiond", secrets: [][]byte{[]byte("s")}}
	unsigned := cookieCodec{name: "sessiond"}
	good := signed.value(id)
	last := "A"
	if good[75] == 'A' {
		last = "B"
	}
	tampered := good[:75] + last
	cases := map[string]struct {
		codec cookieCodec
		value string
	}{
		"unsigned id when a secret is configured": {signed, id},
		"wrong signature":                         {signed, tampered},
		"truncated signature":                     {signed, good[:70]},
		"id of the wrong length":                  {unsigned, id[:31]},
		"characters outside base64url":            {unsigned, id[:31] + "+"},
		"signed cookie when no secret is set":     {unsigned, good},
	}
	for name, c := range cases {
		got, present := c.codec.id(requestWithCookie(c.value))
		if got != "" || !present {
			t.Errorf("%s: id %q, present %v; want no id, present", name, got, present)
		}
	}
}

func TestSetCookieAttributesInTheSpecsOrder(t *testing.T) {
	c := cookieCodec{name: "sid", path: "/app", domain: "example.test", maxAge: 3600, secure: true, sameSite: "Strict"}
	if got, want := c.set("ID"), "sid=ID; Path=/app; Domain=example.test; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"; got != want {
		t.Errorf("set:\n got %s\nwant %s", got, want)
	}
	c = cookieCodec{name: "sessiond", path: "/", sameSite: "Lax"}
	if got, want := c.clear(), "sessiond=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"; got != want {
		t.Errorf("clear:\n got %s\nwant %s", got, want)
	}
}
