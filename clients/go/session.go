package sessiond

import (
	"context"
	"errors"
	"maps"
	"sort"
	"sync"
	"time"

	"sessiond.dev/client/go/sessiondv1"
)

// CreateOptions describes a session to create. The zero value asks for the server's defaults.
type CreateOptions struct {
	// Principal is the user the session belongs to; may be empty.
	Principal string
	// Labels describe the session for a "your active sessions" page (device, user agent, ...);
	// ListSessions returns them. Limits: the server's --max_labels and --max_label_bytes.
	Labels map[string]string
	// IdleTimeout and AbsoluteTimeout: zero means the server's defaults (20 min, 12 h unless
	// configured); neither may exceed the server's maxima. Millisecond precision.
	IdleTimeout, AbsoluteTimeout time.Duration
	// ID proposes the new session's id (see NewID); empty lets the server draw one. Only for
	// framework stores whose contract makes the web tier choose the id; never an id from a
	// cookie.
	ID string
}

// Info is what the server reported about a session in its last reply.
type Info struct {
	Version           uint64 // +1 on every change of the entries or the id; 1 when created.
	CreatedAt         time.Time
	IdleExpiresAt     time.Time // Expiry unless used again; never after AbsoluteExpiresAt.
	AbsoluteExpiresAt time.Time
	IdleTimeout       time.Duration
	Principal         string
	Labels            map[string]string
	// LastAccessAt is when the session was last used; zero where the rpc does not report it.
	LastAccessAt time.Time
}

func infoFrom(p *sessiondv1.SessionInfo) Info {
	info := Info{Version: p.GetVersion(), CreatedAt: p.GetCreatedAt().AsTime(),
		IdleExpiresAt: p.GetIdleExpiresAt().AsTime(), AbsoluteExpiresAt: p.GetAbsoluteExpiresAt().AsTime(),
		IdleTimeout: p.GetIdleTimeout().AsDuration(), Principal: p.GetPrincipal(),
		Labels: maps.Clone(p.GetLabels())} // A copy: p may be the near cache's.
	if p.GetLastAccessAt() != nil {
		info.LastAccessAt = p.GetLastAccessAt().AsTime()
	}
	return info
}

// Session is one sessiond session as a request uses it, mirroring ASP.NET Core's ISession. It
// loads lazily: the first read (a getter, Keys or Load) fetches every entry with one Get and
// remembers the version. Setters, Remove and Clear only record changes, which reads see at once;
// Commit sends them all in one rpc with that version as read_version, so the server rejects it
// (a *ConflictError) only if another writer changed a key it writes. A Session is safe for
// concurrent use: its methods are serialized.
type Session struct {
	client *Client

	mu   sync.Mutex
	id   string
	info Info
	// isNew: the session does not exist on the server (New, Resume found it gone, or Delete ended
	// it); Commit creates it with opts.
	isNew bool
	opts  CreateOptions
	// resume: a NOT_FOUND makes this a new empty session instead of an error.
	resume  bool
	gone    bool // Resume found the session unknown, expired or deleted.
	deleted bool // Delete ended it.
	// Unset until a load is attempted, then its outcome (nil: loaded). Reset when the loaded
	// entries are known to be out of date.
	loadErr  error
	loadDone bool
	// readVersion is the version the caller's reads came from: Commit's read_version.
	readVersion    uint64
	hasReadVersion bool
	entries        map[string]*sessiondv1.Value // As loaded; empty unless loaded.
	// Pending: a Clear, and each key's last set (a value) or removal (nil) since.
	cleared   bool
	changes   map[string]*sessiondv1.Value
	requestID string // Idempotency key of the pending changes; empty until first sent.
}

// Open returns the session id (for example from a cookie), not loaded yet: no rpc is made until
// the first read. If it is unknown, expired or deleted, Load returns an error matching
// ErrNotFound.
func (c *Client) Open(id string) *Session {
	return &Session{client: c, id: id, changes: map[string]*sessiondv1.Value{}}
}

// Resume is Open for web glue: if the session turns out to be unknown, expired or deleted (on
// load, or at a commit), it becomes a new empty session (Gone reports true) that Commit creates
// with create's options and a new id, keeping the changes recorded since.
func (c *Client) Resume(id string, create CreateOptions) *Session {
	s := c.Open(id)
	s.resume, s.opts = true, create
	return s
}

// New returns a session that does not exist on the server yet: changes are recorded and the first
// Commit creates it, with create's options and the recorded entries, in one CreateSession rpc.
func (c *Client) New(create CreateOptions) *Session {
	s := c.Open("")
	s.opts = create
	s.becomeNew()
	return s
}

// Create creates a session now (New, then Commit) and returns it, loaded at version 1.
func (c *Client) Create(ctx context.Context, create CreateOptions) (*Session, error) {
	s := c.New(create)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createNow(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ID returns the session id; empty for a new session until Commit creates it.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// IsNew reports whether the session does not exist on the server (New, Resume found it gone, or
// Delete ended it): the next Commit with pending changes creates it, with a new id.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isNew
}

// Gone reports whether Resume found the session unknown, expired or deleted on load.
func (s *Session) Gone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

// Deleted reports whether Delete ended the session.
func (s *Session) Deleted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted
}

// Info returns the version and expiry times of the last reply (zero before any).
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Load fetches every entry with one Get unless the session is loaded already; pending changes
// stay. The outcome is remembered: after a failure Load returns the same error without an rpc
// until Reload. Errors match ErrNotFound (except after Resume), ErrUnavailable, ....
func (s *Session) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx)
}

func (s *Session) load(ctx context.Context) error {
	if s.loadDone {
		return s.loadErr
	}
	response, err := s.client.getAll(ctx, s.id)
	s.loadDone = true
	switch {
	case err == nil:
		s.adopt(response.GetSession(), response.GetEntries())
	case s.resume && errors.Is(err, ErrNotFound):
		s.becomeGone()
	default:
		s.loadErr = err
	}
	return s.loadErr
}

// becomeGone makes a Resume session whose id is gone a new empty session; pending changes stay.
func (s *Session) becomeGone() {
	s.gone = true
	s.becomeNew()
}

// becomeNew makes the session a new empty one, not on the server, without an id.
func (s *Session) becomeNew() {
	s.isNew, s.id, s.entries, s.loadDone, s.loadErr, s.hasReadVersion = true, "", nil, true, nil, false
}

// adopt takes entries at info's version as the loaded state.
func (s *Session) adopt(info *sessiondv1.SessionInfo, entries map[string]*sessiondv1.Value) {
	s.info = infoFrom(info)
	s.entries = entries
	s.readVersion, s.hasReadVersion = s.info.Version, true
	s.loadDone, s.loadErr = true, nil
}

// Reload discards pending changes and the loaded state and loads again: what to do after a
// conflict, before redoing the work on fresh values.
func (s *Session) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discardChanges()
	if s.isNew {
		return nil
	}
	s.loadDone, s.loadErr, s.entries = false, nil, nil
	return s.load(ctx)
}

func (s *Session) discardChanges() {
	s.cleared, s.changes, s.requestID = false, map[string]*sessiondv1.Value{}, ""
}

// Keys returns the keys the session holds, pending changes included, sorted. Loads first.
func (s *Session) Keys(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	keys := []string{}
	if !s.cleared {
		for key := range s.entries {
			if _, changed := s.changes[key]; !changed {
				keys = append(keys, key)
			}
		}
	}
	for key, value := range s.changes {
		if value != nil {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// HasPendingChanges reports whether a Set, Remove or Clear was recorded since the last load or
// successful Commit.
func (s *Session) HasPendingChanges() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cleared || len(s.changes) > 0
}

// find returns key's value with pending changes applied, loading first; nil if absent or the
// session cannot be loaded.
func (s *Session) find(ctx context.Context, key string) *sessiondv1.Value {
	if s.load(ctx) != nil {
		return nil
	}
	if value, changed := s.changes[key]; changed {
		return value
	}
	if s.cleared {
		return nil
	}
	return s.entries[key]
}

// record records a set (value) or a removal (nil) of key.
func (s *Session) record(key string, value *sessiondv1.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes[key] = value
	s.requestID = ""
}
