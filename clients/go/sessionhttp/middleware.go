// Package sessionhttp is net/http middleware that keeps each request's session in sessiond and
// follows docs/COOKIES.md: the session loads lazily on first use, a session is created only when
// a request stores something, and the request's changes are committed in one rpc before the
// response's status line and headers are written.
//
//	sessions, err := sessionhttp.New(client, sessionhttp.Options{Secrets: []string{secret}})
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		s := sessionhttp.FromContext(r.Context())
//		visits, _ := s.GetInt(r.Context(), "visits")
//		s.SetInt("visits", visits+1) // committed before the response goes out
//	}
//
// Login: s.RotateID(ctx) (new id, same data, new cookie). Logout: s.Delete(ctx) (cookie cleared).
//
// Limits: changes recorded after the response started (after the first Write, Flush or final
// WriteHeader) are not stored, and are logged. When sessiond cannot be reached, getters report
// keys as absent like for an empty session; s.Load(ctx) returns the error for handlers that must
// tell the two apart (a write then fails with 503). A conflict is the request's 409 (OnError);
// handlers that prefer to retry run their work through s.Update.
//
// Sessions load through a near cache by default (Options.NearCacheMaxBytes, DisableNearCache): a
// request's load costs no rpc while the cache holds a lease, and sees every change committed more
// than one lease (100 ms by default) earlier, and this tier's own changes at once.
package sessionhttp

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	sessiond "sessiond.dev/client/go"
)

// Options configures the middleware; the zero value follows docs/COOKIES.md's defaults.
type Options struct {
	// CookieName is the cookie's name; default "sessiond". Tiers sharing a login use one name.
	CookieName string
	// Secrets sign the cookie (HMAC-SHA256): the first signs, any verifies (newest first, for
	// rotation). None: the cookie is the bare session id.
	Secrets []string
	// InsecureCookie leaves out the Secure attribute: for local development over http only.
	InsecureCookie bool
	// SameSite: http.SameSiteLaxMode (the default), StrictMode or NoneMode (which needs Secure).
	SameSite http.SameSite
	// Path (default "/") and Domain (default: host-only) of the cookie.
	Path, Domain string
	// MaxAge makes the cookie persistent (whole seconds); zero: the browser forgets it when it
	// closes. The server's idle and absolute timeouts apply either way.
	MaxAge time.Duration
	// Create is how new sessions are created (principal, timeouts).
	Create sessiond.CreateOptions
	// OnError writes the response when the commit fails (the handler's response is dropped).
	// Default: 409 for a conflict, 503 when sessiond is unavailable, 500 otherwise.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// NearCacheMaxBytes bounds the near cache the middleware loads sessions through (see
	// sessiond.Options.NearCacheMaxBytes); default 16 MiB. Unused when the client keeps a near
	// cache already (the middleware uses it) or with DisableNearCache.
	NearCacheMaxBytes int64
	// DisableNearCache loads every session with a Get rpc, even when the client keeps a near cache.
	DisableNearCache bool
}

// DefaultNearCacheMaxBytes is the middleware's near cache bound unless Options say otherwise.
const DefaultNearCacheMaxBytes = 16 << 20

// Middleware keeps sessions in sessiond for the handlers it wraps. Safe for concurrent use.
type Middleware struct {
	client  *sessiond.Client
	cookie  cookieCodec
	create  sessiond.CreateOptions
	onError func(http.ResponseWriter, *http.Request, error)
}

// New returns the middleware for client and opts; it fails if the options contradict the cookie
// spec (SameSite=None without Secure, an empty secret). Unless opts disable it, the middleware
// loads sessions through a near cache (client's own, or one derived with client.WithNearCache that
// client's Close stops).
func New(client *sessiond.Client, opts Options) (*Middleware, error) {
	m := &Middleware{client: client, create: opts.Create, onError: opts.OnError,
		cookie: cookieCodec{name: opts.CookieName, path: opts.Path, domain: opts.Domain,
			maxAge: int(opts.MaxAge / time.Second), secure: !opts.InsecureCookie}}
	if m.cookie.name == "" {
		m.cookie.name = "sessiond"
	}
	if m.cookie.path == "" {
		m.cookie.path = "/"
	}
	switch opts.SameSite {
	case 0, http.SameSiteDefaultMode, http.SameSiteLaxMode:
		m.cookie.sameSite = "Lax"
	case http.SameSiteStrictMode:
		m.cookie.sameSite = "Strict"
	case http.SameSiteNoneMode:
		if opts.InsecureCookie {
			return nil, errors.New("sessionhttp: SameSite=None requires Secure (InsecureCookie is set)")
		}
		m.cookie.sameSite = "None"
	}
	for _, secret := range opts.Secrets {
		if secret == "" {
			return nil, errors.New("sessionhttp: an empty secret")
		}
		m.cookie.secrets = append(m.cookie.secrets, []byte(secret))
	}
	if m.onError == nil {
		m.onError = writeError
	}
	switch {
	case opts.DisableNearCache:
		m.client = client.WithNearCache(0)
	case client.NearCacheStats().MaxBytes == 0:
		if opts.NearCacheMaxBytes <= 0 {
			opts.NearCacheMaxBytes = DefaultNearCacheMaxBytes
		}
		m.client = client.WithNearCache(opts.NearCacheMaxBytes)
	}
	return m, nil
}

type contextKey struct{}

// FromContext returns the request's session inside a handler the middleware wraps; nil elsewhere.
// It is a *sessiond.Session: new (nothing stored yet) when the request had no valid cookie or its
// session is gone, else the cookie's session, loaded on first use.
func FromContext(ctx context.Context) *sessiond.Session {
	s, _ := ctx.Value(contextKey{}).(*sessiond.Session)
	return s
}

// Handler wraps next: the session is in the request's context, and its changes are committed
// before the response's header is written (or when next returns without writing). A failed commit
// replaces the response with OnError's. If next panics, nothing is committed.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookieID, hadCookie := m.cookie.id(r)
		var s *sessiond.Session
		if cookieID != "" {
			s = m.client.Resume(cookieID, m.create)
		} else {
			s = m.client.New(m.create)
		}
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, s))
		rw := &responseWriter{ResponseWriter: w}
		rw.beforeHeader = func() error {
			// The changes are the handler's work: store them even if the client has gone away
			// (bounded by the client's timeout).
			err := m.commit(context.WithoutCancel(r.Context()), w.Header(), s, cookieID, hadCookie)
			if err != nil {
				m.onError(w, r, err)
			}
			return err
		}
		next.ServeHTTP(rw, r)
		rw.start()
		if !rw.failed && s.HasPendingChanges() {
			log.Printf("sessionhttp: %s %s changed the session after its response started; "+
				"those changes were not stored", r.Method, r.URL.Path)
		}
	})
}

// commit stores the request's changes and sets or clears the cookie as the spec says.
func (m *Middleware) commit(ctx context.Context, header http.Header, s *sessiond.Session,
	cookieID string, hadCookie bool) error {
	if s.HasPendingChanges() {
		if err := s.Commit(ctx); err != nil {
			return err
		}
	}
	switch {
	case !s.IsNew() && s.ID() != cookieID: // Created (also after a logout or a gone session), or rotated.
		header.Add("Set-Cookie", m.cookie.set(s.ID()))
	case s.Deleted() && hadCookie, s.Gone(): // Ended, or gone, and nothing stored since.
		header.Add("Set-Cookie", m.cookie.clear())
	}
	return nil
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, sessiond.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, sessiond.ErrUnavailable):
		code = http.StatusServiceUnavailable
	}
	log.Printf("sessionhttp: %s %s: %v", r.Method, r.URL.Path, err)
	http.Error(w, fmt.Sprintf("%d %s", code, http.StatusText(code)), code)
}
