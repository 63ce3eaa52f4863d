package sessionhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
	"sessiond.dev/client/go/sessionhttp"
)

// BenchmarkRequest is one HTTP request over loopback through the middleware whose handler reads
// and increments a counter in its session: one Get and one Commit to a real sessiond.
func BenchmarkRequest(b *testing.B) {
	client := testserver.Start(b).Client(b, sessiond.Options{})
	middleware, err := sessionhttp.New(client, sessionhttp.Options{InsecureCookie: true})
	if err != nil {
		b.Fatal(err)
	}
	server := httptest.NewServer(middleware.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionhttp.FromContext(r.Context())
		n, _ := s.GetInt(r.Context(), "n")
		s.SetInt("n", n+1)
	})))
	defer server.Close()
	created, err := client.Create(b.Context(), sessiond.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", server.URL, nil)
	req.Header.Set("Cookie", "sessiond="+created.ID())
	b.ResetTimer()
	for b.Loop() {
		send(b, req)
	}
}

// send sends req and fails b unless the answer is 200 OK.
func send(b *testing.B, req *http.Request) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkReadMostly is a read-mostly web tier over loopback: of every 5 requests of one session,
// 4 only read it and 1 reads and writes a key, with the middleware's near cache on (the default)
// and off. It reports the server's CPU time per request (server-µs/op).
func BenchmarkReadMostly(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts sessionhttp.Options
	}{
		{"nearcache", sessionhttp.Options{InsecureCookie: true}},
		{"off", sessionhttp.Options{InsecureCookie: true, DisableNearCache: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			server := testserver.Start(b)
			client := server.Client(b, sessiond.Options{})
			middleware, err := sessionhttp.New(client, mode.opts)
			if err != nil {
				b.Fatal(err)
			}
			web := httptest.NewServer(middleware.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := sessionhttp.FromContext(r.Context())
				n, _ := s.GetInt(r.Context(), "n")
				if r.URL.Path == "/write" {
					s.SetInt("n", n+1)
				}
			})))
			defer web.Close()
			created, err := client.Create(b.Context(), sessiond.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			requests := []*http.Request{}
			for _, path := range []string{"/read", "/read", "/read", "/read", "/write"} {
				req, _ := http.NewRequest("GET", web.URL+path, nil)
				req.Header.Set("Cookie", "sessiond="+created.ID())
				requests = append(requests, req)
			}
			cpu := server.CPU(b)
			i := 0
			for b.Loop() {
				send(b, requests[i%len(requests)])
				i++
			}
			b.ReportMetric(float64((server.CPU(b)-cpu).Microseconds())/float64(i), "server-µs/op")
		})
	}
}
