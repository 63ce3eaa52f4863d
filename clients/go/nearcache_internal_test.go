package sessiond

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"sessiond.dev/client/go/sessiondv1"
)

// These tests drive the near cache's store and lease directly, in the interleavings of a fill and
// an invalidation that a test against the server cannot force; nearcache_test.go covers the rest
// end to end.

// leased returns a near cache whose stream has granted a ping sent now, with a lease of 1 h.
func leased(t *testing.T) *nearCache {
	n := newNearCache(1 << 20)
	ping, _ := n.sendingPing()
	if !n.received(&sessiondv1.InvalidationsResponse{GrantedPing: ping, Lease: durationpb.New(time.Hour)}) {
		t.Fatal("a granted ping was not reported")
	}
	return n
}

// answer is a Get response for a session at version that expires in an hour.
func answer(version uint64) *sessiondv1.GetResponse {
	later := timestamppb.New(time.Now().Add(time.Hour))
	return &sessiondv1.GetResponse{
		Session: &sessiondv1.SessionInfo{Version: version, IdleExpiresAt: later, AbsoluteExpiresAt: later,
			IdleTimeout: durationpb.New(time.Hour)},
		Entries: map[string]*sessiondv1.Value{"k": {Kind: &sessiondv1.Value_StringValue{StringValue: "v"}}}}
}

func invalidation(id string, version uint64, gone bool) *sessiondv1.InvalidationsResponse {
	return &sessiondv1.InvalidationsResponse{Invalidations: []*sessiondv1.Invalidation{
		{IdHash: idHash(id), Version: version, Gone: gone}}}
}

func cachedVersion(n *nearCache, id string) uint64 {
	response, _ := n.lookup(id)
	return response.GetSession().GetVersion()
}

func TestIDHashIsTheFirst8BytesOfSHA256BigEndian(t *testing.T) {
	// SHA-256("abc") = ba7816bf8f01cfea 414140de...
	if got := idHash("abc"); got != 0xba7816bf8f01cfea {
		t.Fatalf("idHash(abc) = %#x", got)
	}
}

func TestAnInvalidationDuringAFillKeepsItsAnswerOut(t *testing.T) {
	for _, c := range []struct {
		name    string
		version uint64
		gone    bool
		cached  uint64 // The version cached after; 0: none.
	}{
		{"a later version", 4, false, 0},
		{"the answer's version", 3, false, 3},
		{"an earlier version", 2, false, 3},
		{"an ending", 3, true, 0},
	} {
		n := leased(t)
		f := n.startFill("s")
		n.received(invalidation("s", c.version, c.gone))
		n.finishFill(f, "s", answer(3))
		if got := cachedVersion(n, "s"); got != c.cached {
			t.Errorf("%s during a fill of version 3: cached version %d, want %d", c.name, got, c.cached)
		}
	}
}

func TestAWriteOrAStreamBreakDuringAFillKeepsItsAnswerOut(t *testing.T) {
	n := leased(t)
	f := n.startFill("s")
	n.forget("s")
	n.finishFill(f, "s", answer(1))
	if cachedVersion(n, "s") != 0 {
		t.Error("a fill across a write of its session was cached")
	}
	f = n.startFill("s")
	n.streamBroken()
	if n.startFill("s") != nil {
		t.Error("a fill was registered on a new stream before it granted a ping")
	}
	ping, _ := n.sendingPing()
	n.received(&sessiondv1.InvalidationsResponse{GrantedPing: ping, Lease: durationpb.New(time.Hour)})
	n.finishFill(f, "s", answer(1))
	if n.stats().Entries != 0 {
		t.Error("a fill across a stream break was cached")
	}
}

func TestTheLeaseRunsFromTheGrantedPingsSendTimeAndNeverBack(t *testing.T) {
	n := newNearCache(1 << 20)
	first, _ := n.sendingPing()
	time.Sleep(10 * time.Millisecond)
	second, _ := n.sendingPing()
	n.received(&sessiondv1.InvalidationsResponse{GrantedPing: second, Lease: durationpb.New(time.Hour)})
	until := n.leaseUntil
	n.received(&sessiondv1.InvalidationsResponse{GrantedPing: first, Lease: durationpb.New(time.Hour)})
	if !n.leaseUntil.Equal(until) {
		t.Errorf("granting an older ping moved the lease from %v to %v", until, n.leaseUntil)
	}
	if _, interval := n.sendingPing(); interval != 15*time.Minute {
		t.Errorf("pings every %v under a 1 h lease; want a quarter of it", interval)
	}
	third, _ := n.sendingPing()
	n.received(&sessiondv1.InvalidationsResponse{GrantedPing: third, Lease: durationpb.New(time.Nanosecond)})
	if !n.stats().Serving {
		t.Error("a shorter lease granted later shortened the current one")
	}
}

func TestAnExpiredOrUnleasedEntryIsAMiss(t *testing.T) {
	n := leased(t)
	expired := answer(1)
	expired.Session.IdleExpiresAt = timestamppb.New(time.Now().Add(-time.Millisecond))
	n.finishFill(n.startFill("s"), "s", expired)
	if cachedVersion(n, "s") != 0 || n.stats().Entries != 0 {
		t.Error("a session past its idle expiry was served")
	}
	n.finishFill(n.startFill("s"), "s", answer(1))
	n.leaseUntil = time.Now()
	if cachedVersion(n, "s") != 0 {
		t.Error("a session was served without a current lease")
	}
}
