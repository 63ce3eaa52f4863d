package sessiond_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
)

// lease is the server's --near_cache_lease default, which these tests run with.
const lease = 100 * time.Millisecond

// nearCacheSetup starts a sessiond (with metrics) and returns it, a client with a near cache whose
// stream holds a lease, and a client without one (another process, as far as the cache knows).
func nearCacheSetup(t *testing.T) (*testserver.Server, *sessiond.Client, *sessiond.Client) {
	server := testserver.Start(t, "--metrics_listen=127.0.0.1:0")
	caching := server.Client(t, sessiond.Options{NearCacheMaxBytes: 1 << 20})
	waitServing(t, caching)
	return server, caching, server.Client(t, sessiond.Options{})
}

// waitServing waits (up to 5 s) until client's near cache holds a lease.
func waitServing(t testing.TB, client *sessiond.Client) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !client.NearCacheStats().Serving; {
		if time.Now().After(deadline) {
			t.Fatalf("the near cache got no lease within 5 s: %+v", client.NearCacheStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCalls waits (up to 5 s) until the server counted want calls of method, and fails t if it
// counts more.
func waitCalls(t *testing.T, server *testserver.Server, method string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for got := server.Calls(t, method); got != want; got = server.Calls(t, method) {
		if got > want || time.Now().After(deadline) {
			t.Fatalf("the server counted %d %s calls; want %d", got, method, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// createWith creates a session through client holding key = value.
func createWith(t testing.TB, client *sessiond.Client, create sessiond.CreateOptions, key, value string) string {
	t.Helper()
	s := client.New(create)
	s.SetString(key, value)
	if err := s.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.ID()
}

// loadCached loads id through client until a load is a cache hit, and returns that session; it
// fails t if none is within 5 s (a load fills the cache while the stream holds a lease).
func loadCached(t testing.TB, client *sessiond.Client, id string) *sessiond.Session {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		hits := client.NearCacheStats().Hits
		s := client.Open(id)
		if err := s.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if client.NearCacheStats().Hits > hits {
			return s
		}
	}
	t.Fatalf("no load of session %s was a cache hit within 5 s: %+v", id, client.NearCacheStats())
	return nil
}

// A load the cache answers costs no rpc and reads what the server's Get did. (A load that finds
// the lease lapsed, as a starved ping goroutine may, goes to the server: every miss is one Get.)
func TestNearCacheServesASecondLoadWithoutAnRPC(t *testing.T) {
	ctx := context.Background()
	server, caching, plain := nearCacheSetup(t)
	created := plain.New(sessiond.CreateOptions{})
	created.SetString("user", "ann")
	created.SetInt("visits", 7)
	if err := created.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	gets := server.Calls(t, "Get")
	first := caching.Open(created.ID())
	if err := first.Load(ctx); err != nil {
		t.Fatal(err)
	}
	second := loadCached(t, caching, created.ID())
	stats := caching.NearCacheStats()
	waitCalls(t, server, "Get", gets+int(stats.Misses))
	if stats.Hits != 1 || stats.Entries != 1 || stats.Bytes <= 0 || stats.Bytes > stats.MaxBytes {
		t.Errorf("stats after loads until the first hit: %+v", stats)
	}
	user, _ := second.GetString(ctx, "user")
	visits, _ := second.GetInt(ctx, "visits")
	keys, _ := second.Keys(ctx)
	if user != "ann" || visits != 7 || strings.Join(keys, ",") != "user,visits" ||
		second.Info().Version != first.Info().Version || second.Info().Version != 1 {
		t.Errorf("the cached load read user %q, visits %d, keys %v, version %d; the server's was version %d",
			user, visits, keys, second.Info().Version, first.Info().Version)
	}
}

func TestNearCacheSeesAnotherClientsWritesWithinALease(t *testing.T) {
	ctx := context.Background()
	_, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "theme", "light")
	loadCached(t, caching, id)

	other := plain.Open(id)
	other.SetString("theme", "dark")
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen := ""
	for deadline := time.Now().Add(time.Second); seen != "dark" && time.Now().Before(deadline); {
		seen, _ = caching.Open(id).GetString(ctx, "theme")
	}
	if seen != "dark" {
		t.Fatalf("1 s after another client's commit, the caching client still reads theme %q", seen)
	}

	loadCached(t, caching, id)
	if err := plain.Open(id).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease + 50*time.Millisecond)
	if err := caching.Open(id).Load(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Fatalf("a lease after another client's Delete, the caching client's load = %v; want ErrNotFound", err)
	}
}

func TestNearCacheDropsRevokedSessionsWithinALease(t *testing.T) {
	ctx := context.Background()
	_, caching, plain := nearCacheSetup(t)
	create := sessiond.CreateOptions{Principal: "carol"}
	ids := []string{createWith(t, plain, create, "n", "1"), createWith(t, plain, create, "n", "2")}
	for _, id := range ids {
		loadCached(t, caching, id)
	}
	if revoked, err := plain.RevokeSessions(ctx, "carol"); err != nil || revoked != 2 {
		t.Fatalf("RevokeSessions = %d, %v", revoked, err)
	}
	time.Sleep(lease + 50*time.Millisecond)
	for _, id := range ids {
		err := caching.Open(id).Load(ctx)
		var gone *sessiond.GoneError
		if !errors.As(err, &gone) || gone.Reason.String() != "REVOKED" {
			t.Errorf("a lease after RevokeSessions, the caching client's load = %v; want REVOKED", err)
		}
	}
}

// The child process of TestStoppedProcessServesNothingStaleWhenItResumes: it caches the session
// its environment names, says "cached", and when a line arrives on its stdin loads the session
// again at once and prints how that went.
func TestNearCacheChildProcess(t *testing.T) {
	spec := os.Getenv("SESSIOND_NEAR_CACHE_CHILD")
	if spec == "" {
		return // Only a child process runs it.
	}
	address, id, _ := strings.Cut(spec, " ")
	client, err := sessiond.Dial(address, sessiond.Options{NearCacheMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitServing(t, client)
	loadCached(t, client, id)
	fmt.Println("cached")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	err = client.Open(id).Load(context.Background())
	fmt.Printf("loaded: %v\n", errors.Is(err, sessiond.ErrNotFound))
}

// A process that is stopped (SIGSTOP) with a session in its near cache neither delays another
// process's Delete beyond about a lease nor serves the deleted session when it resumes.
func TestStoppedProcessServesNothingStaleWhenItResumes(t *testing.T) {
	ctx := context.Background()
	server := testserver.Start(t)
	plain := server.Client(t, sessiond.Options{})
	id := createWith(t, plain, sessiond.CreateOptions{}, "user", "dave")

	child := exec.Command(os.Args[0], "-test.run=^TestNearCacheChildProcess$", "-test.count=1")
	child.Env = append(os.Environ(), "SESSIOND_NEAR_CACHE_CHILD="+server.Address+" "+id)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Process.Signal(syscall.SIGCONT)
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	lines := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if line, found := strings.CutPrefix(lines.Text(), prefix); found {
				return line
			}
		}
		t.Fatalf("the child process ended before printing %q", prefix)
		return ""
	}
	expect("cached")

	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := plain.Open(id).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(stopped)
	if took >= 2*time.Second {
		t.Errorf("Delete took %v with a stopped near cache connected; want < 2 s", took)
	}
	t.Logf("Delete took %v with a stopped near cache connected", took)
	// The guarantee holds one lease after Delete returns: keep the child stopped that long.
	time.Sleep(lease + 50*time.Millisecond)
	if err := child.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "load\n"); err != nil {
		t.Fatal(err)
	}
	if notFound := expect("loaded: "); notFound != "true" {
		t.Fatal("the resumed process served the deleted session (or failed otherwise); want ErrNotFound")
	}
}

func TestNearCacheStopsServingWhenItsLeaseLapses(t *testing.T) {
	ctx := context.Background()
	server, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "k", "v")
	loadCached(t, caching, id)

	// A stalled server grants no lease: within one the cache stops answering, though it still
	// holds the session.
	server.Signal(syscall.SIGSTOP)
	time.Sleep(lease + 50*time.Millisecond)
	stalled, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := caching.Open(id).Load(stalled)
	cancel()
	server.Signal(syscall.SIGCONT)
	if !errors.Is(err, context.DeadlineExceeded) && codeOf(err) != "DeadlineExceeded" {
		t.Fatalf("a load a lease after the server stalled = %v; want it sent to the server (deadline exceeded)", err)
	}

	waitServing(t, caching)
	loadCached(t, caching, id)
	server.Stop()
	server.Wait()
	time.Sleep(lease + 50*time.Millisecond)
	if err := caching.Open(id).Load(ctx); !errors.Is(err, sessiond.ErrUnavailable) {
		t.Fatalf("a load after the server stopped = %v; want ErrUnavailable", err)
	}
	if stats := caching.NearCacheStats(); stats.Serving || stats.Entries != 0 {
		t.Errorf("after the stream broke: %+v; want an empty cache without a lease", stats)
	}
}

// codeOf returns the gRPC code of a client error, as text.
func codeOf(err error) string {
	var e *sessiond.Error
	if !errors.As(err, &e) {
		return ""
	}
	return e.Code.String()
}

func TestNearCacheHitsKeepTheSessionAliveWithFewTouches(t *testing.T) {
	ctx := context.Background()
	server, caching, plain := nearCacheSetup(t)
	const idle = 2 * time.Second
	id := createWith(t, plain, sessiond.CreateOptions{IdleTimeout: idle}, "k", "v")
	touches := server.Calls(t, "Touch")
	loads := 0
	for start := time.Now(); time.Since(start) < idle+time.Second; loads++ {
		if err := caching.Open(id).Load(ctx); err != nil {
			t.Fatalf("load %d: %v", loads, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := plain.Open(id).Load(ctx); err != nil {
		t.Fatalf("after %v of cached loads, the server's Get = %v; want the session alive", idle+time.Second, err)
	}
	touched := server.Calls(t, "Touch") - touches
	if stats := caching.NearCacheStats(); stats.Hits < uint64(loads)/2 || touched < 1 || touched > loads/5 {
		t.Errorf("%d loads (stats %+v) sent %d Touches; want mostly hits and at most one Touch per %v",
			loads, stats, touched, idle/8)
	}
}

func TestCommitAfterAStaleCachedReadConflicts(t *testing.T) {
	ctx := context.Background()
	_, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "cart", "empty")
	stale := loadCached(t, caching, id)

	other := plain.Open(id)
	other.SetString("cart", "book")
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	stale.SetString("cart", "pen")
	var conflict *sessiond.ConflictError
	if err := stale.Commit(ctx); !errors.As(err, &conflict) || strings.Join(conflict.Keys, ",") != "cart" {
		t.Fatalf("commit over a cached read another client overwrote = %v; want a conflict on cart", err)
	}
	if cart, _ := plain.Open(id).GetString(ctx, "cart"); cart != "book" {
		t.Errorf("cart %q; want the other client's write kept", cart)
	}
}

// A client's own write is visible to its next load at once, even through the cache.
func TestNearCacheReadsTheClientsOwnWritesAtOnce(t *testing.T) {
	ctx := context.Background()
	_, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "step", "1")
	for _, step := range []string{"2", "3", "4"} {
		s := loadCached(t, caching, id)
		s.SetString("step", step)
		if err := s.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := caching.Open(id).GetString(ctx, "step"); got != step {
			t.Fatalf("after committing step %s the next load read %q", step, got)
		}
	}
}

// A client's own commit over a cached copy updates the copy: the next load is a hit, no Get, and
// reads what was written.
func TestNearCacheWritesTheClientsOwnCommitThrough(t *testing.T) {
	ctx := context.Background()
	server, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "gone", "soon")
	for n := 1; n <= 5; n++ { // Until the load after the commit finds the lease current.
		s := loadCached(t, caching, id)
		s.SetInt("n", int64(n))
		s.Remove("gone")
		if err := s.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if entries := caching.NearCacheStats().Entries; entries != 1 {
			t.Fatalf("%d sessions cached after an own commit over a cached copy; want the written copy", entries)
		}
		waitServing(t, caching)
		gets, hits := server.Calls(t, "Get"), caching.NearCacheStats().Hits
		again := caching.Open(id)
		got, _ := again.GetInt(ctx, "n")
		keys, _ := again.Keys(ctx)
		if got != int64(n) || strings.Join(keys, ",") != "n" || again.Info().Version != uint64(n+1) {
			t.Fatalf("after committing n = %d the next load read n %d, keys %v, version %d", n, got, keys,
				again.Info().Version)
		}
		if caching.NearCacheStats().Hits == hits+1 {
			waitCalls(t, server, "Get", gets)
			return
		}
	}
	t.Fatal("no load after an own commit found the lease current")
}

// A commit racing another client's write to the same session (it makes two versions, not one)
// leaves no cached copy: the next load asks the server and reads both changes.
func TestNearCacheDropsItsCopyWhenACommitRacesAnotherWrite(t *testing.T) {
	ctx := context.Background()
	server, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "ours", "1")
	s := loadCached(t, caching, id)
	other := plain.Open(id)
	other.SetString("theirs", "2")
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetString("ours", "3")
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if entries := caching.NearCacheStats().Entries; entries != 0 {
		t.Fatalf("%d sessions cached after a commit that raced another write", entries)
	}
	gets := server.Calls(t, "Get")
	again := caching.Open(id)
	ours, _ := again.GetString(ctx, "ours")
	theirs, _ := again.GetString(ctx, "theirs")
	if ours != "3" || theirs != "2" || again.Info().Version != 3 {
		t.Errorf("after the racing commits the next load read ours %q, theirs %q, version %d", ours,
			theirs, again.Info().Version)
	}
	waitCalls(t, server, "Get", gets+1)
}

// A load whose context carries its own gRPC metadata (credentials, say) is the server's to answer.
func TestNearCacheLeavesCallsWithTheirOwnMetadataToTheServer(t *testing.T) {
	server, caching, plain := nearCacheSetup(t)
	id := createWith(t, plain, sessiond.CreateOptions{}, "k", "v")
	loadCached(t, caching, id)
	gets := server.Calls(t, "Get")
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-trace", "1")
	if err := caching.Open(id).Load(ctx); err != nil {
		t.Fatal(err)
	}
	waitCalls(t, server, "Get", gets+1)
}

func TestNearCacheStaysWithinItsByteBound(t *testing.T) {
	ctx := context.Background()
	server := testserver.Start(t)
	plain := server.Client(t, sessiond.Options{})
	const maxBytes = 8 << 10
	caching := server.Client(t, sessiond.Options{NearCacheMaxBytes: maxBytes})
	waitServing(t, caching)
	value := strings.Repeat("x", 1000)
	var ids []string
	for range 20 {
		ids = append(ids, createWith(t, plain, sessiond.CreateOptions{}, "blob", value))
		if err := caching.Open(ids[len(ids)-1]).Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stats := caching.NearCacheStats()
	if stats.Bytes > maxBytes || stats.Entries < 2 || stats.Entries >= len(ids) {
		t.Fatalf("20 sessions of 1 KB under an 8 KiB bound: %+v", stats)
	}
	loadCached(t, caching, ids[len(ids)-1]) // The most recently loaded session is kept.
	hits := caching.NearCacheStats().Hits
	if err := caching.Open(ids[0]).Load(ctx); err != nil || caching.NearCacheStats().Hits != hits {
		t.Errorf("the least recently loaded session was not evicted: %v, %+v", err, caching.NearCacheStats())
	}
	huge := createWith(t, plain, sessiond.CreateOptions{}, "blob", strings.Repeat("y", maxBytes))
	for range 2 {
		if err := caching.Open(huge).Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if stats := caching.NearCacheStats(); stats.Bytes > maxBytes || stats.Hits != hits {
		t.Errorf("a session larger than the bound was cached: %+v", stats)
	}
}

func TestCloseStopsTheInvalidationStream(t *testing.T) {
	server := testserver.Start(t)
	client, err := sessiond.Dial(server.Address, sessiond.Options{NearCacheMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	derived := server.Client(t, sessiond.Options{}).WithNearCache(1 << 20)
	waitServing(t, client)
	waitServing(t, derived)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if client.NearCacheStats().Serving {
		t.Error("the near cache still holds a lease after Close")
	}
	if err := derived.Close(); err != nil {
		t.Fatal(err)
	}
	if derived.NearCacheStats().Serving {
		t.Error("the derived near cache still holds a lease after Close")
	}
}
