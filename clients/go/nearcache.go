package sessiond

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"sessiond.dev/client/go/sessiondv1"
)

// entryOverhead is what a cached session costs beyond its serialized GetResponse and its id: the
// entry, its list element, its map slot and the entries map's header, roughly.
const entryOverhead = 256

// idHash is the near cache's key of a session id, as the server's invalidations name it: the first
// 8 bytes of the SHA-256 of the id, read as a big-endian unsigned integer.
func idHash(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(sum[:8])
}

// cached is one session in the near cache: the whole GetResponse of a Get of all keys, kept as
// its parts. session and entries are never changed in place (a renewal replaces session), so a
// hit may share them.
type cached struct {
	hash      uint64
	id        string
	session   *sessiondv1.SessionInfo
	entries   map[string]*sessiondv1.Value
	size      int64
	renewedAt time.Time // When the server last renewed its idle timer for us (local clock).
	renewing  bool      // A Touch of it is in flight.
}

// fill is a Get or a Commit whose answer may fill the cache, registered before the rpc is sent.
// The invalidations of its session that arrive meanwhile mark it.
type fill struct {
	hash   uint64
	newest uint64  // The highest version an invalidation or an own Commit's answer named meanwhile.
	gone   bool    // An invalidation, a write or a stream break ruled the answer out.
	base   *cached // A Commit's: the cached copy it was sent over, if any.
}

// nearCache is the store and the lease of a Client's near cache: a byte-bounded LRU of whole
// sessions keyed by idHash (read, or written through by the client's own Commits), the Gets and
// Commits in flight that may fill it, and the lease the invalidation stream (nearcache_stream.go)
// keeps current. It serves an entry only while the lease is current and the entry's expiry times
// are in the future. Methods whose names end in Locked need mu held; the others take it. Safe for
// concurrent use.
type nearCache struct {
	maxBytes int64

	mu      sync.Mutex // Guards every field below.
	entries map[uint64]*list.Element
	lru     list.List // Of *cached, the most recently used first.
	bytes   int64
	fills   map[uint64][]*fill
	// granted is whether the current invalidation stream granted a ping, and leaseUntil the end of
	// the lease (monotonic; zero when there is none).
	granted    bool
	leaseUntil time.Time
	lease      time.Duration // The last lease granted; defaultLease before any.
	pings      []sentPing    // Pings sent on the current stream and not granted yet, oldest first.
	nextPing   uint64
	hits       uint64
	misses     uint64
}

// sentPing is a LeaseRequest and when it was sent (monotonic).
type sentPing struct {
	ping uint64
	at   time.Time
}

// defaultLease is the lease assumed before the server grants one (the server's default).
const defaultLease = 100 * time.Millisecond

func newNearCache(maxBytes int64) *nearCache {
	return &nearCache{maxBytes: maxBytes, entries: map[uint64]*list.Element{},
		fills: map[uint64][]*fill{}, lease: defaultLease}
}

// NearCacheStats describes a Client's near cache (Options.NearCacheMaxBytes).
type NearCacheStats struct {
	MaxBytes int64  // The bound; 0 when the client keeps no near cache.
	Bytes    int64  // What the cached sessions count for (serialized size plus overhead).
	Entries  int    // Sessions cached.
	Hits     uint64 // Gets answered from the cache, without an rpc.
	Misses   uint64 // Loads the cache could not answer (sent to the server as a Get).
	Serving  bool   // A lease is current: the cache may answer Gets now.
}

func (n *nearCache) stats() NearCacheStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return NearCacheStats{MaxBytes: n.maxBytes, Bytes: n.bytes, Entries: len(n.entries),
		Hits: n.hits, Misses: n.misses, Serving: time.Now().Before(n.leaseUntil)}
}

// lookup returns id's cached session as a GetResponse of all its keys, if a lease is current and
// the session has not expired by the local clock; nil (a miss) otherwise. renew is the entry to
// renew on the server (the caller sends one Touch and then calls renewed), or nil when its last
// renewal is more recent than an eighth of its idle timeout or a Touch of it is in flight.
func (n *nearCache) lookup(id string) (response *sessiondv1.GetResponse, renew *cached) {
	hash := idHash(id)
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	element := n.entries[hash]
	if element == nil || !now.Before(n.leaseUntil) {
		n.misses++
		return nil, nil
	}
	e := element.Value.(*cached)
	if e.id != id {
		n.misses++
		return nil, nil
	}
	if !now.Before(e.session.GetIdleExpiresAt().AsTime()) ||
		!now.Before(e.session.GetAbsoluteExpiresAt().AsTime()) {
		n.removeLocked(e)
		n.misses++
		return nil, nil
	}
	n.hits++
	n.lru.MoveToFront(element)
	response = &sessiondv1.GetResponse{Session: e.session, Entries: maps.Clone(e.entries)}
	if !e.renewing && now.Sub(e.renewedAt) > e.session.GetIdleTimeout().AsDuration()/8 {
		e.renewing = true
		renew = e
	}
	return response, renew
}

// renewed records how the Touch of e ended: session is its TouchResponse's SessionInfo (nil if it
// failed), and gone is whether it failed with NOT_FOUND (which drops e). A renewal that reports
// another version than e's drops e too: e is stale.
func (n *nearCache) renewed(e *cached, session *sessiondv1.SessionInfo, gone bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e.renewing = false
	if element := n.entries[e.hash]; element == nil || element.Value != e {
		return // Dropped or replaced meanwhile.
	}
	switch {
	case gone || (session != nil && session.GetVersion() != e.session.GetVersion()):
		n.removeLocked(e)
	case session != nil:
		e.session, e.renewedAt = session, time.Now()
	}
}

// startFill registers a Get of all of id's keys about to be sent; nil if its answer may not fill
// the cache (no lease was granted on the current stream yet).
func (n *nearCache) startFill(id string) *fill {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.granted {
		return nil
	}
	f := &fill{hash: idHash(id)}
	n.fills[f.hash] = append(n.fills[f.hash], f)
	return f
}

// finishFill unregisters f and caches id's session from response (nil if the Get failed) unless
// something ruled it out meanwhile: an invalidation of a later version or of the session's end, a
// write of the session, or a break of the stream f was registered under.
func (n *nearCache) finishFill(f *fill, id string, response *sessiondv1.GetResponse) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.unregisterLocked(f)
	if response == nil || f.gone || f.newest > response.GetSession().GetVersion() {
		return
	}
	n.putLocked(f.hash, id, response.GetSession(), response.GetEntries())
}

// startWrite registers a Commit of id about to be sent: it remembers the cached copy the Commit
// writes over, if any, and rules out the Gets of id in flight (they may answer from before it).
// Pass the result to finishWrite.
func (n *nearCache) startWrite(id string) *fill {
	hash := idHash(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.fills[hash] {
		f.gone = true
	}
	w := &fill{hash: hash}
	if element := n.entries[hash]; element != nil && element.Value.(*cached).id == id {
		w.base = element.Value.(*cached)
	}
	n.fills[hash] = append(n.fills[hash], w)
	return w
}

// finishWrite unregisters w, the Commit of id applying ops in order, which returned session (nil
// if it failed). The cached copy takes the Commit when that is provably exact: the copy existed
// at version v, nothing ruled w out meanwhile, and the Commit made version v + 1 (only our change
// happened: the copy with ops applied) or left v (it changed nothing: the copy as it was). Any
// other outcome drops id's entry. Gets of id still in flight may not fill older than session.
func (n *nearCache) finishWrite(w *fill, id string, ops []*sessiondv1.Operation,
	session *sessiondv1.SessionInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.unregisterLocked(w)
	version := session.GetVersion()
	for _, f := range n.fills[w.hash] {
		f.newest = max(f.newest, version)
	}
	base := w.base
	if session == nil || base == nil || w.gone || w.newest > version ||
		(version != base.session.GetVersion() && version != base.session.GetVersion()+1) {
		if element := n.entries[w.hash]; element != nil {
			n.removeLocked(element.Value.(*cached))
		}
		return
	}
	entries := base.entries
	if version != base.session.GetVersion() {
		entries = applied(ops, base.entries)
	}
	n.putLocked(w.hash, id, session, entries)
}

// applied returns entries with the Commit operations ops applied in order (entries is not
// changed).
func applied(ops []*sessiondv1.Operation, entries map[string]*sessiondv1.Value) map[string]*sessiondv1.Value {
	result := maps.Clone(entries)
	for _, op := range ops {
		switch op := op.GetOp().(type) {
		case *sessiondv1.Operation_Set:
			result[op.Set.GetKey()] = proto.CloneOf(op.Set.GetValue())
		case *sessiondv1.Operation_Remove:
			delete(result, op.Remove.GetKey())
		case *sessiondv1.Operation_Clear:
			clear(result)
		}
	}
	return result
}

func (n *nearCache) unregisterLocked(f *fill) {
	pending := n.fills[f.hash]
	for i, other := range pending {
		if other == f {
			pending = append(pending[:i], pending[i+1:]...)
			break
		}
	}
	if len(pending) == 0 {
		delete(n.fills, f.hash)
	} else {
		n.fills[f.hash] = pending
	}
}

// putLocked caches session and entries as id's copy, unless the cache holds a newer version of
// it already, then evicts the least recently used down to the bound.
func (n *nearCache) putLocked(hash uint64, id string, session *sessiondv1.SessionInfo,
	entries map[string]*sessiondv1.Value) {
	if old := n.entries[hash]; old != nil {
		if old.Value.(*cached).session.GetVersion() > session.GetVersion() {
			return
		}
		n.removeLocked(old.Value.(*cached))
	}
	size := proto.Size(&sessiondv1.GetResponse{Session: session, Entries: entries})
	e := &cached{hash: hash, id: id, session: session, entries: entries,
		size: int64(size + len(id) + entryOverhead), renewedAt: time.Now()}
	if e.size > n.maxBytes {
		return
	}
	n.entries[hash] = n.lru.PushFront(e)
	n.bytes += e.size
	for n.bytes > n.maxBytes {
		n.removeLocked(n.lru.Back().Value.(*cached))
	}
}

// forget drops id's session and rules out the fills of it in flight: the client is writing it.
func (n *nearCache) forget(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.invalidateLocked(idHash(id), 0, true)
}

// invalidateLocked applies one invalidation: the session of hash changed to version, or ended
// (gone). A cached copy older than version, or any if gone, is dropped; the fills in flight are
// marked.
func (n *nearCache) invalidateLocked(hash, version uint64, gone bool) {
	if element := n.entries[hash]; element != nil {
		if e := element.Value.(*cached); gone || e.session.GetVersion() < version {
			n.removeLocked(e)
		}
	}
	for _, f := range n.fills[hash] {
		f.gone = f.gone || gone
		f.newest = max(f.newest, version)
	}
}

func (n *nearCache) removeLocked(e *cached) {
	n.lru.Remove(n.entries[e.hash])
	delete(n.entries, e.hash)
	n.bytes -= e.size
}
