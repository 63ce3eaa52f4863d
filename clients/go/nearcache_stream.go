package sessiond

import (
	"container/list"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"sessiond.dev/client/go/sessiondv1"
)

// The pause before reopening a broken invalidation stream: it starts at minReconnect, doubles
// after each stream that broke before granting a ping, up to maxReconnect, and is jittered.
const (
	minReconnect = 50 * time.Millisecond
	maxReconnect = 5 * time.Second
)

// watch keeps a WatchInvalidations stream open on rpc until ctx ends, feeding n: it applies the
// invalidations, and asks for a lease (LeaseRequest) on opening and then every quarter lease. A
// stream that breaks empties n and takes its lease; watch reopens it after a pause. Errors never
// leave it: while there is no lease, n serves nothing and Gets go to the server.
func (n *nearCache) watch(ctx context.Context, rpc sessiondv1.SessionServiceClient) {
	pause := minReconnect
	for {
		granted := n.watchOnce(ctx, rpc)
		n.streamBroken()
		if granted {
			pause = minReconnect
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause/2 + rand.N(pause/2)):
		}
		if !granted {
			pause = min(2*pause, maxReconnect)
		}
	}
}

// watchOnce runs one stream until it breaks or ctx ends, and reports whether it granted a ping.
func (n *nearCache) watchOnce(ctx context.Context, rpc sessiondv1.SessionServiceClient) bool {
	ctx, cancel := context.WithCancel(ctx)
	var pinging sync.WaitGroup
	defer pinging.Wait()
	defer cancel()
	stream, err := rpc.WatchInvalidations(ctx)
	if err != nil {
		return false
	}
	pinging.Go(func() { n.ping(ctx, stream) })
	granted := false
	for {
		response, err := stream.Recv()
		if err != nil {
			return granted
		}
		granted = n.received(response) || granted
	}
}

// ping sends a LeaseRequest at once and then every quarter lease, until ctx ends or a send fails.
func (n *nearCache) ping(ctx context.Context, stream sessiondv1.SessionService_WatchInvalidationsClient) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ping, interval := n.sendingPing()
		if stream.Send(&sessiondv1.LeaseRequest{Ping: ping}) != nil {
			return
		}
		timer.Reset(interval)
	}
}

// sendingPing numbers the next ping (1, 2, ... on each stream), records when it is sent, and
// returns it with the pause before the next one (a quarter lease).
func (n *nearCache) sendingPing() (uint64, time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextPing++
	n.pings = append(n.pings, sentPing{ping: n.nextPing, at: time.Now()})
	return n.nextPing, n.lease / 4
}

// received applies one message of the stream: its invalidations first, then its granted ping,
// which extends the lease to the time that ping was sent plus the lease (never backwards). It
// reports whether the message granted a ping this stream sent.
func (n *nearCache) received(response *sessiondv1.InvalidationsResponse) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, invalidation := range response.GetInvalidations() {
		n.invalidateLocked(invalidation.GetIdHash(), invalidation.GetVersion(), invalidation.GetGone())
	}
	granted := response.GetGrantedPing()
	if granted == 0 {
		return false
	}
	if lease := response.GetLease().AsDuration(); lease > 0 {
		n.lease = lease
	}
	found := false
	kept := n.pings[:0]
	for _, sent := range n.pings {
		switch {
		case sent.ping == granted:
			found = true
			if until := sent.at.Add(n.lease); until.After(n.leaseUntil) {
				n.leaseUntil = until
			}
		case sent.ping > granted:
			kept = append(kept, sent)
		}
	}
	n.pings = kept
	n.granted = n.granted || found
	return found
}

// streamBroken empties the cache, forgets the lease and the pings, and rules out the fills in
// flight: the next stream starts from nothing.
func (n *nearCache) streamBroken() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.granted, n.leaseUntil, n.pings, n.nextPing = false, time.Time{}, nil, 0
	n.entries, n.bytes = map[uint64]*list.Element{}, 0
	n.lru.Init()
	for _, pending := range n.fills {
		for _, f := range pending {
			f.gone = true
		}
	}
}
