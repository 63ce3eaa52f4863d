package sessiond

import (
	"context"

	"google.golang.org/grpc"

	"sessiond.dev/client/go/sessiondv1"
)

// ListedSession is one of a principal's live sessions as ListSessions reports it: its id and what
// the server knows of it (labels and last access included), never its entries.
type ListedSession struct {
	ID string
	Info
}

// SessionPage is one page of a principal's live sessions, newest first, and the token of the next
// page ("" on the last one).
type SessionPage struct {
	Sessions      []ListedSession
	NextPageToken string
}

// ListSessions returns one page of principal's live sessions, newest first: pageSize of them at
// most (0: the server's default, 50), after pageToken (a previous page's NextPageToken; "" for the
// first page).
func (c *Client) ListSessions(ctx context.Context, principal string, pageSize int,
	pageToken string) (SessionPage, error) {
	response, err := call(ctx, c, listSessionsMethod, &sessiondv1.ListSessionsRequest{
		Principal: principal, PageSize: int32(pageSize), PageToken: pageToken})
	if err != nil {
		return SessionPage{}, err
	}
	page := SessionPage{NextPageToken: response.GetNextPageToken()}
	for _, session := range response.GetSessions() {
		page.Sessions = append(page.Sessions, ListedSession{ID: session.GetId(), Info: infoFrom(session)})
	}
	return page, nil
}

// RevokeSessions ends every session of principal but exceptIDs ("log out everywhere else"), each
// atomically, and returns how many it ended.
func (c *Client) RevokeSessions(ctx context.Context, principal string, exceptIDs ...string) (uint64, error) {
	response, err := call(ctx, c, revokeSessionsMethod, &sessiondv1.RevokeSessionsRequest{
		Principal: principal, ExceptIds: exceptIDs})
	if err != nil {
		return 0, err
	}
	return response.GetRevoked(), nil
}

// EventStream is one WatchSessions stream, read event by event (the server sends events in
// batches). Not safe for concurrent use; Close it when done.
type EventStream struct {
	client *Client
	stream grpc.ServerStreamingClient[sessiondv1.WatchSessionsResponse]
	cancel context.CancelFunc
	batch  []*sessiondv1.SessionEvent // The rest of the message being read.
}

// WatchSessions streams session events from fromSequence on (0: only those that happen from now
// on; 1: from the oldest the server keeps). The stream lives as long as ctx (no default deadline)
// or until Close. To resume after an error, watch again from the last event's Sequence + 1.
func (c *Client) WatchSessions(ctx context.Context, fromSequence uint64) (*EventStream, error) {
	request := &sessiondv1.WatchSessionsRequest{}
	if fromSequence > 0 {
		request.FromSequence = &fromSequence
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.WatchSessions(ctx, request)
	if err != nil {
		cancel()
		return nil, c.wrap("WatchSessions", err)
	}
	return &EventStream{client: c, stream: stream, cancel: cancel}, nil
}

// Next blocks until the next event. Errors: ErrOutOfRange (the sequence asked for is not in the
// server's log: resynchronise), RESOURCE_EXHAUSTED (this watcher fell behind), ErrUnavailable (the
// server went away or drains), or ctx's end.
func (s *EventStream) Next() (*sessiondv1.SessionEvent, error) {
	for len(s.batch) == 0 {
		message, err := s.stream.Recv()
		if err != nil {
			return nil, s.client.wrap("WatchSessions", err)
		}
		s.batch = message.GetEvents()
	}
	event := s.batch[0]
	s.batch = s.batch[1:]
	return event, nil
}

// Close ends the stream.
func (s *EventStream) Close() { s.cancel() }
