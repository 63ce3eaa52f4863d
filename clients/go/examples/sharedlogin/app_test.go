package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
	"sessiond.dev/client/go/sessionhttp"
)

// A browser's visit: log in, fill the cart, log out, against a real sessiond.
func TestLoginCartLogout(t *testing.T) {
	client := testserver.Start(t).Client(t, sessiond.Options{})
	middleware, err := sessionhttp.New(client, sessionhttp.Options{Secrets: []string{"s"}, InsecureCookie: true})
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(routes(middleware))
	defer server.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	// visit GETs path (form nil) or POSTs form to it, following redirects; returns the page.
	visit := func(path string, form url.Values) string {
		t.Helper()
		get := func() (*http.Response, error) { return browser.Get(server.URL + path) }
		if form != nil {
			get = func() (*http.Response, error) { return browser.PostForm(server.URL+path, form) }
		}
		resp, err := get()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if page := visit("/go/", nil); !strings.Contains(page, `<p id="user">anonymous</p>`) {
		t.Errorf("first visit: %s", page)
	}
	visit("/go/login", url.Values{"user": {"ann"}})
	visit("/go/cart", url.Values{"item": {"tea"}})
	page := visit("/go/cart", url.Values{"item": {"<cake>"}})
	if !strings.Contains(page, `<p id="user">ann</p>`) ||
		!strings.Contains(page, `<ul id="cart"><li>tea</li><li>&lt;cake&gt;</li></ul>`) {
		t.Errorf("after login and two items: %s", page)
	}
	if page := visit("/go/logout", url.Values{}); !strings.Contains(page, `<p id="user">anonymous</p>`) ||
		!strings.Contains(page, `<ul id="cart"></ul>`) {
		t.Errorf("after logout: %s", page)
	}
}
