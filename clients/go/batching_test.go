package sessiond_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
	"sessiond.dev/client/go/sessiondv1"
)

// loadAndCommitConcurrently creates n sessions, then loads, changes and commits each from its own
// goroutine, all started together, and checks that every session holds its own value after.
func loadAndCommitConcurrently(t *testing.T, client *sessiond.Client, n int) {
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		s, err := client.Create(ctx, sessiond.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = s.ID()
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			<-start
			s := client.Open(id)
			if errs[i] = s.Load(ctx); errs[i] == nil {
				s.SetInt("n", int64(i))
				errs[i] = s.Commit(ctx)
			}
		})
	}
	close(start)
	wg.Wait()
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("session %d: %v", i, errs[i])
		}
		if got, ok := client.Open(id).GetInt(ctx, "n"); !ok || got != int64(i) {
			t.Fatalf("session %d holds n = %d, %v; want %d", i, got, ok, i)
		}
	}
}

// Concurrent calls are coalesced: 200 Gets and 200 Commits all get their own results, and the
// server sees fewer rpcs than calls, some of them Batch.
func TestConcurrentCallsShareBatchRPCs(t *testing.T) {
	server := testserver.Start(t, "--metrics_listen=127.0.0.1:0")
	const n = 200
	loadAndCommitConcurrently(t, server.Client(t, sessiond.Options{}), n)
	batches := server.RPCs(t, "Batch")
	rpcs := batches + server.RPCs(t, "Get") + server.RPCs(t, "Commit")
	// 2n calls, plus n Gets of the check that runs one at a time.
	if batches == 0 || rpcs >= 3*n {
		t.Fatalf("%d rpcs (%d Batch) for %d concurrent calls and %d sequential Gets; want some Batch "+
			"and fewer rpcs than calls", rpcs, batches, 2*n, n)
	}
	t.Logf("%d concurrent calls took %d rpcs, %d of them Batch", 2*n, rpcs-n, batches)
}

// With DisableBatching every call is its own rpc: no Batch at all.
func TestDisableBatchingSendsNoBatch(t *testing.T) {
	server := testserver.Start(t, "--metrics_listen=127.0.0.1:0")
	loadAndCommitConcurrently(t, server.Client(t, sessiond.Options{DisableBatching: true}), 50)
	if batches := server.RPCs(t, "Batch"); batches != 0 {
		t.Fatalf("%d Batch rpcs with batching off, want 0", batches)
	}
}

// gate is a client whose Gets of one session (the holder) wait until released, so that the calls
// made meanwhile queue behind it; it records the operation counts of the Batch rpcs it sends.
type gate struct {
	client  *sessiond.Client
	holder  string
	entered chan struct{} // Closed when the holder's Get reached the gate.
	release chan struct{}

	mu      sync.Mutex
	batches []int    // Operations of each Batch sent.
	methods []string // Every rpc sent, by method.
}

func newGate(t *testing.T, server *testserver.Server, opts sessiond.Options) *gate {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		g.mu.Lock()
		g.methods = append(g.methods, method)
		if batch, ok := req.(*sessiondv1.BatchRequest); ok {
			g.batches = append(g.batches, len(batch.GetOperations()))
		}
		g.mu.Unlock()
		if get, ok := req.(*sessiondv1.GetRequest); ok && get.GetId() == g.holder {
			close(g.entered)
			<-g.release
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	conn, err := grpc.NewClient(server.Address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(intercept))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g.client = sessiond.NewClient(conn, server.Address, opts)
	return g
}

// hold starts loading a new session (the holder) and returns once that Get is in flight, held at
// the gate; the returned channel yields its error after Release.
func (g *gate) hold(t *testing.T) <-chan error {
	s, err := g.client.Create(context.Background(), sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.holder = s.ID()
	loaded := make(chan error, 1)
	go func() { loaded <- g.client.Open(g.holder).Load(context.Background()) }()
	<-g.entered
	return loaded
}

func (g *gate) sent() ([]int, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.batches...), append([]string(nil), g.methods...)
}

// failureOf reduces an error to what a caller can inspect: its type, code, message and details.
func failureOf(err error) string {
	var e *sessiond.Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("%T %v", err, err)
	}
	description := fmt.Sprintf("%T %s %q", err, e.Code, e.Message)
	var conflict *sessiond.ConflictError
	var gone *sessiond.GoneError
	switch {
	case errors.As(err, &conflict):
		description += fmt.Sprintf(" keys %v version %d", conflict.Keys, conflict.CurrentVersion)
	case errors.As(err, &gone):
		description += fmt.Sprintf(" reason %s ended %v", gone.Reason, gone.EndedAt)
	}
	return description
}

// Four calls in one Batch (one NOT_FOUND with a reason, one conflicting Commit, one
// INVALID_ARGUMENT, one success) each get their own result, with the same error type, code,
// message and details as the same call sent on its own.
func TestErrorsInABatchAreTheUnaryErrors(t *testing.T) {
	ctx := context.Background()
	server := testserver.Start(t)
	unary := server.Client(t, sessiond.Options{DisableBatching: true})
	gate := newGate(t, server, sessiond.Options{MaxBatchOperations: 4})

	deleted, err := unary.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deletedID := deleted.ID()
	if err := deleted.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := unary.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := unary.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Two readers at version 1, one per client; another writer then changes "k", so both
	// readers' commits of "k" conflict alike.
	staleBatched, staleUnary := gate.client.Open(shared.ID()), unary.Open(shared.ID())
	for _, s := range []*sessiond.Session{staleBatched, staleUnary} {
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		s.SetString("k", "mine")
	}
	shared.SetString("k", "theirs")
	if err := shared.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	held := gate.hold(t)
	succeeding := gate.client.Open(fresh.ID())
	succeeding.SetInt("n", 1)
	batched := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() { batched[0] = gate.client.Open(deletedID).Load(ctx) })
	wg.Go(func() { batched[1] = staleBatched.Commit(ctx) })
	wg.Go(func() { batched[2] = gate.client.Open("not-an-id").Load(ctx) })
	wg.Go(func() { batched[3] = succeeding.Commit(ctx) })
	wg.Wait() // The fourth call fills the batch, which goes while the holder is still in flight.
	close(gate.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if batches, _ := gate.sent(); !reflect.DeepEqual(batches, []int{4}) {
		t.Fatalf("Batch rpcs sent with %v operations; want one with 4", batches)
	}

	alone := []error{unary.Open(deletedID).Load(ctx), staleUnary.Commit(ctx),
		unary.Open("not-an-id").Load(ctx)}
	for i, want := range alone {
		if got := failureOf(batched[i]); got != failureOf(want) {
			t.Errorf("call %d in a batch failed with %s; alone with %s", i, got, failureOf(want))
		}
	}
	var gone *sessiond.GoneError
	if !errors.As(batched[0], &gone) || gone.Reason != sessiondv1.NotFoundDetails_DELETED {
		t.Errorf("Load of a deleted session in a batch = %v, want a GoneError DELETED", batched[0])
	}
	var conflict *sessiond.ConflictError
	if !errors.As(batched[1], &conflict) || !reflect.DeepEqual(conflict.Keys, []string{"k"}) ||
		conflict.CurrentVersion != 2 {
		t.Errorf("stale Commit in a batch = %v, want a ConflictError on k at version 2", batched[1])
	}
	if !errors.Is(batched[2], sessiond.ErrInvalidArgument) {
		t.Errorf("Load of a malformed id in a batch = %v, want ErrInvalidArgument", batched[2])
	}
	if batched[3] != nil || succeeding.Info().Version != 2 {
		t.Errorf("Commit in a batch = %v at version %d, want success at 2", batched[3],
			succeeding.Info().Version)
	}
}

// A queued call whose deadline passes stops waiting with DEADLINE_EXCEEDED while the rpc it
// queued behind is still in flight.
func TestQueuedCallStopsWaitingAtItsDeadline(t *testing.T) {
	gate := newGate(t, testserver.Start(t), sessiond.Options{})
	held := gate.hold(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	loaded := make(chan error, 1)
	go func() { loaded <- gate.client.Open(sessiond.NewID()).Load(ctx) }()
	select {
	case err := <-loaded:
		var e *sessiond.Error
		if !errors.As(err, &e) || e.Code != codes.DeadlineExceeded {
			t.Errorf("Load past its deadline = %v, want DEADLINE_EXCEEDED", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("a queued call waited past its deadline for the rpc in flight")
	}
	close(gate.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// A call larger than MaxBatchBytes on its own is sent at once as its own rpc, even while another
// rpc is in flight.
func TestCallOverTheByteLimitGoesAlone(t *testing.T) {
	gate := newGate(t, testserver.Start(t), sessiond.Options{MaxBatchBytes: 1024})
	held := gate.hold(t)
	s := gate.client.New(sessiond.CreateOptions{})
	s.SetBytes("big", make([]byte, 2048))
	if err := s.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	batches, methods := gate.sent()
	if len(batches) != 0 || methods[len(methods)-1] != "/sessiond.v1.SessionService/CreateSession" {
		t.Errorf("sent %v (Batch sizes %v); want the large CreateSession alone", methods, batches)
	}
}

// A call whose context carries outgoing gRPC metadata is sent at once as its own rpc (with its
// metadata), even while another rpc is in flight: a shared Batch could not carry it.
func TestCallWithMetadataGoesAlone(t *testing.T) {
	gate := newGate(t, testserver.Start(t), sessiond.Options{})
	held := gate.hold(t)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-source", "test")
	if err := gate.client.Open(sessiond.NewID()).Load(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Errorf("Load of an unknown id with metadata = %v, want ErrNotFound", err)
	}
	close(gate.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if batches, _ := gate.sent(); len(batches) != 0 {
		t.Errorf("Batch rpcs sent with %v operations; want none", batches)
	}
}

// When the server refuses a Batch as a whole (here: more operations than its
// --max_batch_operations), every call in it fails with that error.
func TestRefusedBatchFailsEveryCallInIt(t *testing.T) {
	gate := newGate(t, testserver.Start(t, "--max_batch_operations=1"),
		sessiond.Options{MaxBatchOperations: 2})
	held := gate.hold(t)
	loaded := make([]error, 2)
	var wg sync.WaitGroup
	for i := range loaded {
		wg.Go(func() { loaded[i] = gate.client.Open(sessiond.NewID()).Load(context.Background()) })
	}
	wg.Wait()
	close(gate.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i, err := range loaded {
		var e *sessiond.Error
		if !errors.As(err, &e) || e.Code != codes.InvalidArgument || e.Op != "Get" ||
			!strings.Contains(e.Message, "max_batch_operations") {
			t.Errorf("call %d of a refused Batch = %v, want its INVALID_ARGUMENT", i, err)
		}
	}
}
