package sessiond

import (
	"maps"
	"slices"
	"strings"
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

func setOp(key, value string) *sessiondv1.Operation {
	return &sessiondv1.Operation{Op: &sessiondv1.Operation_Set{Set: &sessiondv1.Operation_SetOp{
		Key: key, Value: &sessiondv1.Value{Kind: &sessiondv1.Value_StringValue{StringValue: value}}}}}
}

// cachedEntries returns the entries of id's cached copy as "key=value ..." in key order (string
// values only).
func cachedEntries(n *nearCache, id string) string {
	response, _ := n.lookup(id)
	var entries []string
	for _, key := range slices.Sorted(maps.Keys(response.GetEntries())) {
		entries = append(entries, key+"="+response.GetEntries()[key].GetStringValue())
	}
	return strings.Join(entries, " ")
}

func TestAnOwnCommitUpdatesTheCopyOnlyWhenThatIsExact(t *testing.T) {
	removeK := &sessiondv1.Operation{Op: &sessiondv1.Operation_Remove{Remove: &sessiondv1.Operation_RemoveOp{Key: "k"}}}
	clearAll := &sessiondv1.Operation{Op: &sessiondv1.Operation_Clear{Clear: &sessiondv1.Operation_ClearOp{}}}
	for _, c := range []struct {
		name    string
		ops     []*sessiondv1.Operation
		written *sessiondv1.SessionInfo // The CommitResponse's; nil: the Commit failed.
		cached  uint64                  // The version cached after; 0: none.
		entries string                  // What the cached copy holds after, if any.
	}{
		{"only ours", []*sessiondv1.Operation{setOp("w", "x"), removeK}, answer(4).Session, 4, "w=x"},
		{"a clear then a set", []*sessiondv1.Operation{clearAll, setOp("w", "y")}, answer(4).Session, 4, "w=y"},
		{"nothing changed", []*sessiondv1.Operation{removeK}, answer(3).Session, 3, "k=v"},
		{"another write too", []*sessiondv1.Operation{setOp("w", "x")}, answer(5).Session, 0, ""},
		{"a failure", []*sessiondv1.Operation{setOp("w", "x")}, nil, 0, ""},
	} {
		n := leased(t)
		n.finishFill(n.startFill("s"), "s", answer(3))
		n.finishWrite(n.startWrite("s"), "s", c.ops, c.written)
		if got := cachedVersion(n, "s"); got != c.cached {
			t.Errorf("%s: cached version %d after a commit over version 3, want %d", c.name, got, c.cached)
		}
		if got := cachedEntries(n, "s"); got != c.entries {
			t.Errorf("%s: the copy holds %s, want %s", c.name, got, c.entries)
		}
	}
	n := leased(t)
	n.finishWrite(n.startWrite("s"), "s", []*sessiondv1.Operation{setOp("w", "x")}, answer(4).Session)
	if n.stats().Entries != 0 {
		t.Error("a commit over no cached copy was cached")
	}
}

func TestAnOwnCommitRuledOutInFlightOrRacingAGetIsNotCached(t *testing.T) {
	ops := []*sessiondv1.Operation{setOp("w", "ours")}
	for _, c := range []struct {
		name   string
		during func(n *nearCache)
	}{
		{"a later version", func(n *nearCache) { n.received(invalidation("s", 5, false)) }},
		{"an ending", func(n *nearCache) { n.received(invalidation("s", 0, true)) }},
		{"a stream break", func(n *nearCache) { n.streamBroken() }},
	} {
		n := leased(t)
		n.finishFill(n.startFill("s"), "s", answer(3))
		w := n.startWrite("s")
		c.during(n)
		n.finishWrite(w, "s", ops, answer(4).Session)
		if n.stats().Entries != 0 {
			t.Errorf("a commit across %s was cached", c.name)
		}
	}
	n := leased(t)
	n.finishFill(n.startFill("s"), "s", answer(3))
	before := n.startFill("s") // Sent before the commit: it may answer from before it.
	w := n.startWrite("s")
	during := n.startFill("s") // Sent during the commit, answered before it applied.
	n.finishWrite(w, "s", ops, answer(4).Session)
	n.finishFill(before, "s", answer(4))
	n.finishFill(during, "s", answer(3))
	if got := cachedEntries(n, "s"); cachedVersion(n, "s") != 4 || got != "k=v w=ours" {
		t.Errorf("Gets racing an own commit left version %d holding %s", cachedVersion(n, "s"), got)
	}
}
