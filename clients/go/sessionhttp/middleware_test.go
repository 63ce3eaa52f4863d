package sessionhttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
	"sessiond.dev/client/go/sessionhttp"
)

// app is a web tier behind the middleware, with the sessiond client the test inspects it through.
type app struct {
	t       *testing.T
	client  *sessiond.Client
	server  *httptest.Server
	proceed chan struct{} // /flush waits for it after flushing.
}

func newApp(t *testing.T, client *sessiond.Client, opts sessionhttp.Options) *app {
	a := &app{t: t, client: client, proceed: make(chan struct{})}
	middleware, err := sessionhttp.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	session := func(r *http.Request) *sessiond.Session { return sessionhttp.FromContext(r.Context()) }
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		user, ok := session(r).GetString(r.Context(), "user")
		if !ok {
			user = "anonymous"
		}
		fmt.Fprint(w, user)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString(r.FormValue("k"), r.FormValue("v"))
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("flash", "saved")
		http.Redirect(w, r, "/whoami", http.StatusSeeOther)
	})
	mux.HandleFunc("/header-only", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("header", "only")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints) // Not the response's header: no commit yet.
		session(r).SetString("hinted", "yes")
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("silent", "yes")
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("flushed", "yes")
		fmt.Fprint(w, "first ")
		http.NewResponseController(w).Flush()
		<-a.proceed // The test checks the store while the response is still open.
		fmt.Fprint(w, "last")
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("hijacked", "yes")
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		buf.Flush()
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		if err := s.RotateID(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.SetString("user", r.FormValue("user"))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		if err := s.Delete(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
		if r.FormValue("flash") != "" { // Stored after logout: a new anonymous session.
			s.SetString("flash", r.FormValue("flash"))
		}
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		session(r).SetString("user", "changed before a panic")
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/interleave", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		s.GetString(r.Context(), "theme") // Loads.
		other := client.Open(s.ID())      // Another request writes another key meanwhile.
		other.SetString("cart", "from other")
		if err := other.Commit(r.Context()); err != nil {
			t.Error(err)
		}
		s.SetString("theme", "dark")
	})
	mux.HandleFunc("/conflict", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		n, _ := s.GetInt(r.Context(), "n") // Loads.
		other := client.Open(s.ID())       // Another request changes n meanwhile.
		other.SetInt("n", 100)
		if err := other.Commit(r.Context()); err != nil {
			t.Error(err)
		}
		s.SetInt("n", n+1)
		fmt.Fprint(w, "claims success")
	})
	a.server = httptest.NewServer(middleware.Handler(mux))
	t.Cleanup(a.server.Close)
	return a
}

// get requests path with the cookie value (none if empty), without following redirects.
func (a *app) get(path, cookie string) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest("GET", a.server.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "sessiond="+cookie)
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// value returns key's string value in session id, read straight from sessiond.
func (a *app) value(id, key string) string {
	v, _ := a.client.Open(id).GetString(context.Background(), key)
	return v
}

var setCookie = regexp.MustCompile(`^sessiond=([A-Za-z0-9_-]{32}); Path=/; HttpOnly; SameSite=Lax$`)

const cleared = "sessiond=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"

// newCookie returns the session id the response's one Set-Cookie stores, failing the test if it
// does not have the spec's form.
func newCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	headers := resp.Header.Values("Set-Cookie")
	if len(headers) != 1 || !setCookie.MatchString(headers[0]) {
		t.Fatalf("Set-Cookie %q; want one matching %s", headers, setCookie)
	}
	return setCookie.FindStringSubmatch(headers[0])[1]
}

func noCookie(t *testing.T, resp *http.Response) {
	t.Helper()
	if headers := resp.Header.Values("Set-Cookie"); len(headers) != 0 {
		t.Fatalf("Set-Cookie %q; want none", headers)
	}
}

func startApp(t *testing.T) *app {
	client := testserver.Start(t).Client(t, sessiond.Options{})
	return newApp(t, client, sessionhttp.Options{InsecureCookie: true})
}

// A request without a valid cookie (none, or one not of the spec's form) makes no rpc for it and
// gets no Set-Cookie until it stores something.
func TestNoSessionUntilARequestStores(t *testing.T) {
	a := startApp(t)
	for _, cookie := range []string{"", "not-a-session-id"} {
		resp, body := a.get("/whoami", cookie)
		noCookie(t, resp)
		if body != "anonymous" {
			t.Errorf("cookie %q: body %q", cookie, body)
		}
		resp, _ = a.get("/set?k=user&v=ann", cookie)
		newCookie(t, resp)
	}
}

func TestStoringCreatesTheSessionAndTheCookieCarriesIt(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=user&v=ann", "")
	id := newCookie(t, resp)
	if got := a.value(id, "user"); got != "ann" {
		t.Fatalf("stored user %q", got)
	}
	resp, body := a.get("/whoami", id)
	noCookie(t, resp) // Unchanged session: no Set-Cookie.
	if body != "ann" {
		t.Errorf("whoami with the cookie: %q", body)
	}
	resp, _ = a.get("/set?k=theme&v=dark", id)
	noCookie(t, resp) // Changed, same id: no Set-Cookie either.
}

func TestChangesAreStoredBeforeTheResponseStarts(t *testing.T) {
	a := startApp(t)
	for path, key := range map[string]string{"/redirect": "flash", "/header-only": "header", "/silent": "silent",
		"/early-hints": "hinted"} {
		resp, _ := a.get(path, "")
		id := newCookie(t, resp)
		if got := a.value(id, key); got == "" {
			t.Errorf("%s (status %d): %s not stored", path, resp.StatusCode, key)
		}
	}
}

func TestFlushCommitsFirst(t *testing.T) {
	a := startApp(t)
	resp, err := http.Get(a.server.URL + "/flush")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first "))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	id := newCookie(t, resp)
	stored := a.value(id, "flushed") // While the handler still waits.
	close(a.proceed)
	rest, _ := io.ReadAll(resp.Body)
	if stored != "yes" || string(first)+string(rest) != "first last" {
		t.Errorf("stored %q while streaming; body %q", stored, string(first)+string(rest))
	}
}

func TestHijackCommitsFirst(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=user&v=ann", "")
	id := newCookie(t, resp)
	_, body := a.get("/hijack", id)
	if body != "ok" || a.value(id, "hijacked") != "yes" {
		t.Errorf("hijacked response %q; stored %q", body, a.value(id, "hijacked"))
	}
}

func TestLoginRotatesAndLogoutClears(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=cart&v=3", "")
	anonymous := newCookie(t, resp)
	resp, _ = a.get("/login?user=ann", anonymous)
	id := newCookie(t, resp)
	if id == anonymous {
		t.Fatal("login kept the session id")
	}
	if err := a.client.Open(anonymous).Load(context.Background()); err == nil {
		t.Error("the pre-login id still works")
	}
	if a.value(id, "cart") != "3" || a.value(id, "user") != "ann" {
		t.Errorf("after login: cart %q, user %q", a.value(id, "cart"), a.value(id, "user"))
	}
	resp, _ = a.get("/logout", id)
	if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != cleared {
		t.Errorf("logout Set-Cookie %q, want %q", got, cleared)
	}
	if err := a.client.Open(id).Load(context.Background()); err == nil {
		t.Error("the session outlived logout")
	}
	resp, _ = a.get("/login?user=bob", anonymous)
	resp, _ = a.get("/logout?flash=bye", newCookie(t, resp))
	if flashed := newCookie(t, resp); a.value(flashed, "flash") != "bye" || a.value(flashed, "user") != "" {
		t.Errorf("after logout with a flash: flash %q, user %q", a.value(flashed, "flash"), a.value(flashed, "user"))
	}
}

func TestGoneSessionIsEmptyAndItsCookieIsCleared(t *testing.T) {
	a := startApp(t)
	gone := sessiond.NewID()
	resp, body := a.get("/whoami", gone)
	if got := resp.Header.Values("Set-Cookie"); body != "anonymous" || len(got) != 1 || got[0] != cleared {
		t.Errorf("gone session read: body %q, Set-Cookie %q", body, got)
	}
	resp, _ = a.get("/set?k=user&v=bob", gone)
	if id := newCookie(t, resp); id == gone {
		t.Error("a session was created with the id from the cookie")
	}
	resp, _ = a.get("/login?user=eve", gone) // Login on a gone session: a new one.
	if id := newCookie(t, resp); id == gone || a.value(id, "user") != "eve" {
		t.Errorf("login on a gone session: id %q (gone %q), user %q", id, gone, a.value(id, "user"))
	}
}

func TestRequestsWritingDifferentKeysBothCommit(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=user&v=ann", "")
	id := newCookie(t, resp)
	if resp, _ := a.get("/interleave", id); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if a.value(id, "theme") != "dark" || a.value(id, "cart") != "from other" {
		t.Errorf("theme %q, cart %q: want both writes", a.value(id, "theme"), a.value(id, "cart"))
	}
}

func TestFailedCommitIsTheResponse(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=n&v=x", "")
	id := newCookie(t, resp)
	resp, body := a.get("/conflict", id)
	if resp.StatusCode != http.StatusConflict || strings.Contains(body, "claims success") {
		t.Errorf("conflicting commit answered %d %q; want 409 without the handler's body", resp.StatusCode, body)
	}
}

func TestUnavailableSessiondIs503(t *testing.T) {
	client, _ := testserver.Unreachable(t)
	a := newApp(t, client, sessionhttp.Options{InsecureCookie: true})
	resp, _ := a.get("/set?k=user&v=ann", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	noCookie(t, resp)
}

func TestPanicCommitsNothing(t *testing.T) {
	a := startApp(t)
	resp, _ := a.get("/set?k=user&v=ann", "")
	id := newCookie(t, resp)
	req, _ := http.NewRequest("GET", a.server.URL+"/panic", nil)
	req.Header.Set("Cookie", "sessiond="+id)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if got := a.value(id, "user"); got != "ann" {
		t.Errorf("user %q after a panicking request; want the value from before", got)
	}
}

func TestSignedSecureCookieSharedByTwoTiers(t *testing.T) {
	client := testserver.Start(t).Client(t, sessiond.Options{})
	opts := sessionhttp.Options{Secrets: []string{"s3cret"}, SameSite: http.SameSiteStrictMode}
	first, second := newApp(t, client, opts), newApp(t, client, opts)
	resp, _ := first.get("/set?k=user&v=ann", "")
	header := resp.Header.Get("Set-Cookie")
	match := regexp.MustCompile(`^sessiond=([A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}); Path=/; HttpOnly; Secure; SameSite=Strict$`).FindStringSubmatch(header)
	if match == nil {
		t.Fatalf("Set-Cookie %q", header)
	}
	if _, body := second.get("/whoami", match[1]); body != "ann" {
		t.Errorf("the other tier read %q", body)
	}
	if _, body := second.get("/whoami", match[1][:32]); body != "anonymous" {
		t.Errorf("an unsigned id was accepted: %q", body)
	}
}

func TestSameSiteNoneNeedsSecure(t *testing.T) {
	_, err := sessionhttp.New(nil, sessionhttp.Options{SameSite: http.SameSiteNoneMode, InsecureCookie: true})
	if err == nil {
		t.Error("SameSite=None without Secure was accepted")
	}
}

// getCalls requests path with cookie through a and returns the body and how many Get calls the
// server counted for it.
func getCalls(a *app, server *testserver.Server, path, cookie string) (string, int) {
	before := server.Calls(a.t, "Get")
	_, body := a.get(path, cookie)
	return body, server.Calls(a.t, "Get") - before
}

// By default the middleware loads sessions through a near cache: once its stream holds a lease,
// repeated requests of one session cost no Get, and a request sees the previous one's write.
func TestNearCacheIsOnByDefault(t *testing.T) {
	server := testserver.Start(t, "--metrics_listen=127.0.0.1:0")
	a := newApp(t, server.Client(t, sessiond.Options{}), sessionhttp.Options{InsecureCookie: true})
	resp, _ := a.get("/set?k=user&v=ann", "")
	id := newCookie(t, resp)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, gets := getCalls(a, server, "/whoami", id); gets == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("every request loaded its session with a Get for 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 10 {
		if body, gets := getCalls(a, server, "/whoami", id); body != "ann" || gets != 0 {
			t.Fatalf("a cached request answered %q with %d Gets; want ann with none", body, gets)
		}
	}
	a.get("/set?k=user&v=bob", id)
	if _, body := a.get("/whoami", id); body != "bob" {
		t.Fatalf("the request after a write read %q; want bob", body)
	}
}

// DisableNearCache sends a Get per request, also over a client that keeps a near cache.
func TestDisableNearCacheLoadsEverySessionWithAGet(t *testing.T) {
	server := testserver.Start(t, "--metrics_listen=127.0.0.1:0")
	for _, clientOpts := range []sessiond.Options{{}, {NearCacheMaxBytes: 1 << 20}} {
		a := newApp(t, server.Client(t, clientOpts),
			sessionhttp.Options{InsecureCookie: true, DisableNearCache: true})
		resp, _ := a.get("/set?k=user&v=ann", "")
		id := newCookie(t, resp)
		for range 10 {
			if body, gets := getCalls(a, server, "/whoami", id); body != "ann" || gets != 1 {
				t.Fatalf("a request without the near cache answered %q with %d Gets; want ann with one",
					body, gets)
			}
		}
	}
}
