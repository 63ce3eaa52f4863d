package sessiond_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/sessiondv1"
)

// login creates a session of principal on device and returns its id.
func login(t *testing.T, client *sessiond.Client, principal, device string) string {
	t.Helper()
	s, err := client.Create(context.Background(),
		sessiond.CreateOptions{Principal: principal, Labels: map[string]string{"device": device}})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID()
}

func TestListSessionsNewestFirstAndRevokeAllButTheCurrentOne(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	phone := login(t, client, "go-alice", "phone")
	laptop := login(t, client, "go-alice", "laptop")

	page, err := client.ListSessions(ctx, "go-alice", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, session := range page.Sessions {
		listed = append(listed, session.ID+" "+session.Labels["device"])
		if session.LastAccessAt.IsZero() || session.Principal != "go-alice" {
			t.Errorf("listed %+v: want a last access and the principal", session)
		}
	}
	if want := []string{laptop + " laptop", phone + " phone"}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Errorf("listed %v, want %v", listed, want)
	}

	revoked, err := client.RevokeSessions(ctx, "go-alice", laptop)
	if err != nil || revoked != 1 {
		t.Fatalf("RevokeSessions = %d, %v; want 1", revoked, err)
	}
	err = client.Open(phone).Load(ctx)
	var gone *sessiond.GoneError
	if !errors.Is(err, sessiond.ErrNotFound) || !errors.As(err, &gone) ||
		gone.Reason != sessiondv1.NotFoundDetails_REVOKED || gone.EndedAt.IsZero() {
		t.Errorf("loading the revoked session: %v; want a GoneError REVOKED with its time", err)
	}
	if err := client.Open(laptop).Load(ctx); err != nil {
		t.Errorf("the kept session: %v", err)
	}
}

func TestAnUnknownSessionIsNotFoundWithoutAReason(t *testing.T) {
	err := newClient(t).Open("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Load(context.Background())
	var gone *sessiond.GoneError
	if !errors.Is(err, sessiond.ErrNotFound) || errors.As(err, &gone) {
		t.Errorf("Load = %v; want a plain not found", err)
	}
}

func TestWatchSessionsYieldsEventsInOrderAndResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := newClient(t)
	id := login(t, client, "go-bob", "tablet")
	s := client.Open(id)
	s.SetString("theme", "dark")
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}

	events := watchFor(ctx, t, client, id, 1, 3)
	kinds := []sessiondv1.SessionEvent_Kind{events[0].GetKind(), events[1].GetKind(), events[2].GetKind()}
	want := []sessiondv1.SessionEvent_Kind{sessiondv1.SessionEvent_CREATED,
		sessiondv1.SessionEvent_UPDATED, sessiondv1.SessionEvent_DELETED}
	if fmt.Sprint(kinds) != fmt.Sprint(want) || fmt.Sprint(events[1].GetChangedKeys()) != "[theme]" {
		t.Errorf("events %v, want %v with theme changed", events, want)
	}
	resumed := watchFor(ctx, t, client, id, events[0].GetSequence()+1, 1)
	if resumed[0].GetSequence() != events[1].GetSequence() {
		t.Errorf("resumed at %d, want %d", resumed[0].GetSequence(), events[1].GetSequence())
	}
}

// watchFor returns the first count events about session id from sequence from on.
func watchFor(ctx context.Context, t *testing.T, client *sessiond.Client, id string, from uint64,
	count int) []*sessiondv1.SessionEvent {
	t.Helper()
	stream, err := client.WatchSessions(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var events []*sessiondv1.SessionEvent
	for len(events) < count {
		event, err := stream.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", len(events), err)
		}
		if event.GetId() == id {
			events = append(events, event)
		}
	}
	return events
}

func TestWatchingFromASequenceOutsideTheLogIsOutOfRange(t *testing.T) {
	stream, err := newClient(t).WatchSessions(context.Background(), 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if _, err := stream.Next(); !errors.Is(err, sessiond.ErrOutOfRange) {
		t.Errorf("Next = %v; want ErrOutOfRange", err)
	}
}
