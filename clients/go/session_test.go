package sessiond_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
)

func newClient(t testing.TB) *sessiond.Client {
	return testserver.Start(t).Client(t, sessiond.Options{})
}

func TestTypedValuesRoundTripAndGettersDoNotConvert(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	s := client.New(sessiond.CreateOptions{Principal: "user-42"})
	s.SetString("name", "Zoë")
	s.SetInt("visits", 7)
	s.SetDouble("ratio", 0.5)
	s.SetBool("admin", true)
	s.SetBytes("raw", []byte{0, 255})
	if err := s.SetJSON("cart", map[string]int{"A-1": 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if s.IsNew() || !sessiond.ValidID(s.ID()) || s.Info().Version != 1 || s.Info().Principal != "user-42" {
		t.Fatalf("after create: new %v, id %q, info %+v", s.IsNew(), s.ID(), s.Info())
	}

	read := client.Open(s.ID())
	if name, ok := read.GetString(ctx, "name"); !ok || name != "Zoë" {
		t.Errorf("GetString = %q, %v", name, ok)
	}
	if visits, ok := read.GetInt(ctx, "visits"); !ok || visits != 7 {
		t.Errorf("GetInt = %d, %v", visits, ok)
	}
	if cart, ok := read.GetJSON(ctx, "cart"); !ok || string(cart) != `{"A-1":2}` {
		t.Errorf("GetJSON = %s, %v", cart, ok)
	}
	if _, ok := read.GetDouble(ctx, "visits"); ok {
		t.Error("GetDouble of an int64 reads a value; want no conversion")
	}
	if _, ok := read.GetString(ctx, "cart"); ok {
		t.Error("GetString of a json value reads a value; want no conversion")
	}
	if _, ok := read.GetBool(ctx, "absent"); ok {
		t.Error("GetBool of an absent key reads a value")
	}
	keys, err := read.Keys(ctx)
	if err != nil || strings.Join(keys, ",") != "admin,cart,name,ratio,raw,visits" {
		t.Errorf("Keys = %v, %v", keys, err)
	}
}

func TestOpenIsLazyAndUnknownSessionIsNotFound(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	s := client.Open(sessiond.NewID())
	s.SetString("k", "v") // Records only.
	if err := s.Load(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Fatalf("Load of an unknown id = %v, want ErrNotFound", err)
	}
	if err := s.Commit(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Fatalf("Commit after a failed load = %v, want ErrNotFound", err)
	}
}

func TestResumeOfAGoneSessionIsANewEmptySession(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	gone := sessiond.NewID()
	s := client.Resume(gone, sessiond.CreateOptions{})
	if keys, err := s.Keys(ctx); err != nil || len(keys) != 0 || !s.Gone() || !s.IsNew() {
		t.Fatalf("Keys = %v, %v; gone %v, new %v", keys, err, s.Gone(), s.IsNew())
	}
	s.SetString("k", "v")
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if s.ID() == gone || !sessiond.ValidID(s.ID()) {
		t.Fatalf("created %q from gone id %q; want a new id", s.ID(), gone)
	}
}

func TestConflictsArePerKey(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	created, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := client.Open(created.ID()), client.Open(created.ID()), client.Open(created.ID())
	for _, s := range []*sessiond.Session{a, b, c} {
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a.SetString("cart", "a")
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	b.SetString("theme", "dark") // Another key: no conflict.
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("commit of another key = %v", err)
	}
	c.SetString("cart", "c")
	err = c.Commit(ctx)
	var conflict *sessiond.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, sessiond.ErrConflict) {
		t.Fatalf("commit of a changed key = %v, want a ConflictError", err)
	}
	if strings.Join(conflict.Keys, ",") != "cart" || conflict.CurrentVersion != 3 {
		t.Errorf("conflict keys %v, version %d; want [cart], 3", conflict.Keys, conflict.CurrentVersion)
	}
	if !c.HasPendingChanges() {
		t.Error("a failed commit dropped the pending changes")
	}
}

func TestUpdateRerunsWorkAfterAConflict(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	created, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := client.Open(created.ID())
	runs := 0
	err = s.Update(ctx, func(s *sessiond.Session) error {
		runs++
		n, _ := s.GetInt(ctx, "n")
		if runs == 1 { // Someone else increments between our read and our commit.
			other := client.Open(s.ID())
			other.SetInt("n", 10)
			if err := other.Commit(ctx); err != nil {
				return err
			}
		}
		s.SetInt("n", n+1)
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("Update = %v after %d runs; want nil after 2", err, runs)
	}
	if n, _ := client.Open(s.ID()).GetInt(ctx, "n"); n != 11 {
		t.Errorf("n = %d, want 11 (no lost update)", n)
	}
}

func TestRotateIDKeepsTheDataAndKillsTheOldID(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	s := client.New(sessiond.CreateOptions{})
	s.SetString("user", "ann")
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	old := s.ID()
	if err := s.RotateID(ctx); err != nil {
		t.Fatal(err)
	}
	if s.ID() == old {
		t.Fatal("RotateID kept the id")
	}
	if err := client.Open(old).Load(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Errorf("old id after rotation: %v, want ErrNotFound", err)
	}
	if user, _ := client.Open(s.ID()).GetString(ctx, "user"); user != "ann" {
		t.Errorf("user under the new id = %q", user)
	}
}

func TestDeleteEndsTheSession(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	s, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ended := s.ID()
	if err := s.Delete(ctx); err != nil || !s.Deleted() || !s.IsNew() {
		t.Fatalf("Delete = %v, deleted %v, new %v", err, s.Deleted(), s.IsNew())
	}
	if err := client.Open(ended).Load(ctx); !errors.Is(err, sessiond.ErrNotFound) {
		t.Errorf("after Delete: %v, want ErrNotFound", err)
	}
	if err := client.Open(ended).Delete(ctx); err != nil {
		t.Errorf("Delete of a deleted session = %v, want nil (idempotent)", err)
	}
	s.SetString("flash", "logged out") // Stored after Delete: a new session.
	if err := s.Commit(ctx); err != nil || s.ID() == ended || s.IsNew() {
		t.Errorf("store after Delete: %v, id %q (ended %q), new %v", err, s.ID(), ended, s.IsNew())
	}
}

func TestUnreachableServerIsUnavailableAndNamesTheAddress(t *testing.T) {
	client, address := testserver.Unreachable(t)
	started := time.Now()
	err := client.Open(sessiond.NewID()).Load(context.Background())
	if !errors.Is(err, sessiond.ErrUnavailable) || !strings.Contains(err.Error(), address) {
		t.Fatalf("Load against a stopped server = %v; want ErrUnavailable naming %s", err, address)
	}
	if elapsed := time.Since(started); elapsed > 2*time.Second {
		t.Errorf("took %v; want the error before the deadline", elapsed)
	}
}

// silentServer accepts connections and never answers; it closes when t ends.
func silentServer(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
		}
	}()
	t.Cleanup(func() {
		listener.Close()
		<-done // The accept loop has ended: conns is ours.
		for _, conn := range conns {
			conn.Close()
		}
	})
	return listener.Addr().String()
}

func TestEveryCallHasADeadline(t *testing.T) {
	address := silentServer(t)
	client, err := sessiond.Dial(address, sessiond.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	started := time.Now()
	var e *sessiond.Error
	err = client.Open(sessiond.NewID()).Load(context.Background())
	if !errors.As(err, &e) || e.Code != codes.DeadlineExceeded {
		t.Fatalf("Load from a server that never answers = %v, want DEADLINE_EXCEEDED", err)
	}
	// A context's own deadline replaces the default.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = client.Open(sessiond.NewID()).Load(ctx)
	if elapsed := time.Since(started); !errors.As(err, &e) || e.Code != codes.DeadlineExceeded ||
		elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("Load under a 300 ms context = %v after %v in all; want DEADLINE_EXCEEDED after 100 + 300 ms", err, elapsed)
	}
}

func TestSessionIsSafeForConcurrentUse(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	s, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a' + i))
			s.SetInt(key, int64(i))
			s.GetInt(ctx, key)
			if err := s.Commit(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keys, err := client.Open(s.ID()).Keys(ctx)
	if err != nil || len(keys) != 8 {
		t.Errorf("Keys = %v, %v; want 8 keys", keys, err)
	}
}
