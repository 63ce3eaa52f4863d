package sessiond

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"sessiond.dev/client/go/sessiondv1"
)

// Commit sends the pending changes in one rpc; nil without an rpc when nothing is pending. A new
// session (IsNew) is created with CreateSession and gets its id. Otherwise one Commit carries read_version = the loaded version (none if the
// session was never read: a blind write, last writer wins), and fails with a *ConflictError if
// another writer changed a key it writes since. A reply lost to UNAVAILABLE, DEADLINE_EXCEEDED or
// CANCELLED is retried (Options.CommitAttempts) with the same request_id, which the changes keep
// until they are committed or changed: the server applies them at most once. On failure the
// changes stay pending.
func (s *Session) Commit(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.cleared && len(s.changes) == 0:
		return nil
	case s.isNew:
		return s.createNow(ctx)
	case s.loadDone && s.loadErr != nil:
		return s.loadErr
	}
	request := &sessiondv1.CommitRequest{Id: s.id, RequestId: s.pendingRequestID()}
	if s.cleared {
		request.Ops = append(request.Ops, &sessiondv1.Operation{
			Op: &sessiondv1.Operation_Clear{Clear: &sessiondv1.Operation_ClearOp{}}})
	}
	for _, key := range slices.Sorted(maps.Keys(s.changes)) {
		request.Ops = append(request.Ops, operation(key, s.changes[key]))
	}
	if s.hasReadVersion {
		request.ReadVersion = proto.Uint64(s.readVersion)
	}
	response, err := s.client.commit(ctx, request)
	if s.resume && errors.Is(err, ErrNotFound) { // Gone: Resume makes it a new session.
		s.becomeGone()
		return s.createNow(ctx)
	}
	if err != nil {
		return err
	}
	s.applyCommitted(response.GetSession())
	return nil
}

func operation(key string, value *sessiondv1.Value) *sessiondv1.Operation {
	if value == nil {
		return &sessiondv1.Operation{Op: &sessiondv1.Operation_Remove{
			Remove: &sessiondv1.Operation_RemoveOp{Key: key}}}
	}
	return &sessiondv1.Operation{Op: &sessiondv1.Operation_Set{
		Set: &sessiondv1.Operation_SetOp{Key: key, Value: value}}}
}

func (s *Session) pendingRequestID() string {
	if s.requestID == "" {
		s.requestID = newRequestID()
	}
	return s.requestID
}

// applyCommitted makes the pending changes the loaded state after a commit answered info. If the
// version shows that others wrote in between, the loaded entries are out of date: the next read
// loads again, and read_version stays until then.
func (s *Session) applyCommitted(info *sessiondv1.SessionInfo) {
	wasLoaded := s.loadDone && s.loadErr == nil && s.hasReadVersion
	next := map[string]*sessiondv1.Value{}
	if !s.cleared {
		maps.Copy(next, s.entries)
	}
	for key, value := range s.changes {
		if value == nil {
			delete(next, key)
		} else {
			next[key] = value
		}
	}
	expected := s.readVersion
	if !maps.EqualFunc(next, s.entries, func(a, b *sessiondv1.Value) bool { return proto.Equal(a, b) }) {
		expected++
	}
	s.discardChanges()
	s.info = infoFrom(info)
	if wasLoaded && s.info.Version == expected {
		s.adopt(info, next)
	} else {
		s.loadDone, s.loadErr, s.entries = false, nil, nil
	}
}

// createNow creates the new session with the pending entries.
func (s *Session) createNow(ctx context.Context) error {
	entries := map[string]*sessiondv1.Value{}
	for key, value := range s.changes {
		if value != nil {
			entries[key] = value
		}
	}
	request := &sessiondv1.CreateSessionRequest{Entries: entries, Principal: s.opts.Principal,
		Labels: s.opts.Labels, Id: s.opts.ID, RequestId: s.pendingRequestID()}
	if s.opts.IdleTimeout > 0 {
		request.IdleTimeout = durationpb.New(s.opts.IdleTimeout)
	}
	if s.opts.AbsoluteTimeout > 0 {
		request.AbsoluteTimeout = durationpb.New(s.opts.AbsoluteTimeout)
	}
	response, err := retry(ctx, s.client, func(ctx context.Context) (*sessiondv1.CreateSessionResponse, error) {
		return call(ctx, s.client, createSessionMethod, request)
	})
	if err != nil {
		return err
	}
	s.discardChanges()
	s.isNew, s.id = false, response.GetSession().GetId()
	s.adopt(response.GetSession(), entries)
	return nil
}

// RotateID moves the session to a new id with the same data (call it at login): the old id is
// dead once it returns, and ID returns the new one. Pending changes stay pending. A new session
// has no id to rotate: it gets a fresh one when created (so does a Resume session found gone).
func (s *Session) RotateID(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isNew {
		return nil
	}
	request := &sessiondv1.RotateIdRequest{Id: s.id, RequestId: newRequestID()}
	response, err := retry(ctx, s.client, func(ctx context.Context) (*sessiondv1.RotateIdResponse, error) {
		return call(ctx, s.client, rotateIDMethod, request)
	})
	if s.resume && errors.Is(err, ErrNotFound) { // Gone: it will be created with a new id.
		s.becomeGone()
		return nil
	}
	if err != nil {
		return err
	}
	s.id, s.info = response.GetSession().GetId(), infoFrom(response.GetSession())
	return nil
}

// Delete ends the session (call it at logout) and drops pending changes. Deleting a session that
// is already gone succeeds. The Session is then new and empty: what is stored in it afterwards
// (a flash message after logout) goes to a new session with a new id.
func (s *Session) Delete(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discardChanges()
	if !s.isNew {
		request := &sessiondv1.DeleteRequest{Id: s.id, RequestId: newRequestID()}
		_, err := retry(ctx, s.client, func(ctx context.Context) (*sessiondv1.DeleteResponse, error) {
			return call(ctx, s.client, deleteMethod, request)
		})
		if err != nil {
			return err
		}
	}
	s.deleted = true
	s.becomeNew()
	return nil
}

// Update runs work on the session, then commits; when the commit conflicts it reloads and runs
// work again, at most Options.ConflictAttempts times in all. work's error, or any error other
// than a conflict, is returned at once.
func (s *Session) Update(ctx context.Context, work func(*Session) error) error {
	for attempt := 1; ; attempt++ {
		if err := s.Load(ctx); err != nil {
			return err
		}
		if err := work(s); err != nil {
			return err
		}
		err := s.Commit(ctx)
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= s.client.opts.ConflictAttempts {
			return err
		}
		if err := s.Reload(ctx); err != nil {
			return err
		}
	}
}

// retry runs attempt until it succeeds, fails in a way that shows nothing was lost, or has run
// Options.CommitAttempts times, pausing Options.RetryBackoff (doubling) in between.
func retry[Resp any](ctx context.Context, c *Client, attempt func(context.Context) (Resp, error)) (Resp, error) {
	backoff := c.opts.RetryBackoff
	for n := 1; ; n++ {
		response, err := attempt(ctx)
		if err == nil || !replyMayBeLost(err) || n >= c.opts.CommitAttempts {
			return response, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return response, err
		}
		backoff *= 2
	}
}
