// Package scsstore keeps github.com/alexedwards/scs/v2 sessions in sessiond: an existing scs app
// switches with one line,
//
//	sessionManager.Store = scsstore.New(client, scsstore.Options{})
//
// Each scs session is one sessiond session holding scs's encoded data (scs's Codec, gob by
// default) under the key "scs.data" and scs's expiry under "scs.expiry" (Unix milliseconds). scs
// chooses its own tokens (43 characters); the sessiond id is derived from the token (the first 24
// bytes of its SHA-256, base64url), so the token never reaches sessiond and the id is as
// unguessable as the token.
//
// Limits: scs hands the store whole sessions, so the last writer wins (no per-key conflicts; use
// sessionhttp for those), and other languages' tiers can neither find a session by scs's cookie nor
// read scs's encoded data. RenewToken is a delete and a create (not RotateId). There is no
// iteration (scs's IterableStore): sessiond has no listing rpc.
package scsstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	sessiond "sessiond.dev/client/go"
)

const (
	dataKey   = "scs.data"
	expiryKey = "scs.expiry"
)

// Options configures the store.
type Options struct {
	// IdleTimeout and AbsoluteTimeout of the sessiond sessions (zero: the server's defaults, 20 min
	// and 12 h unless configured; at most the server's maxima). A session ends at the earlier of
	// these and scs's own expiry (IdleTimeout, Lifetime), so set them at least as long as scs's.
	IdleTimeout, AbsoluteTimeout time.Duration
}

// Store implements scs.Store and scs.CtxStore over a sessiond Client. Safe for concurrent use.
type Store struct {
	client *sessiond.Client
	create sessiond.CreateOptions
}

// New returns a Store over client.
func New(client *sessiond.Client, opts Options) *Store {
	return &Store{client: client,
		create: sessiond.CreateOptions{IdleTimeout: opts.IdleTimeout, AbsoluteTimeout: opts.AbsoluteTimeout}}
}

// SessionID returns the id of the sessiond session that holds the scs session token.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// FindCtx returns the data scs committed for token; found is false if the session is unknown,
// expired (by sessiond's timeouts or scs's expiry) or deleted.
func (s *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	session := s.client.Open(SessionID(token))
	if err := session.Load(ctx); err != nil {
		if errors.Is(err, sessiond.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, err
	}
	expiry, _ := session.GetInt(ctx, expiryKey)
	data, ok := session.GetBytes(ctx, dataKey)
	if !ok || time.Now().UnixMilli() >= expiry {
		return nil, false, nil
	}
	return data, true, nil
}

// CommitCtx stores b for token until expiry, replacing what was stored (scs hands the store
// whole sessions, so the last writer wins). It creates the session if it does not exist.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	id := SessionID(token)
	err := s.write(ctx, s.client.Open(id), b, expiry)
	if !errors.Is(err, sessiond.ErrNotFound) {
		return err
	}
	create := s.create
	create.ID = id
	err = s.write(ctx, s.client.New(create), b, expiry)
	if errors.Is(err, sessiond.ErrAlreadyExists) { // Another request created it meanwhile.
		err = s.write(ctx, s.client.Open(id), b, expiry)
	}
	return err
}

func (s *Store) write(ctx context.Context, session *sessiond.Session, b []byte, expiry time.Time) error {
	session.SetBytes(dataKey, b)
	session.SetInt(expiryKey, expiry.UnixMilli())
	return session.Commit(ctx)
}

// DeleteCtx ends token's session; a no-op if it does not exist.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	return s.client.Open(SessionID(token)).Delete(ctx)
}

// Find is FindCtx without a context (the client's timeout still bounds it).
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}
