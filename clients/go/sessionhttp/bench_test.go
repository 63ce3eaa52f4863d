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
}
