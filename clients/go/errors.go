package sessiond

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"sessiond.dev/client/go/sessiondv1"
)

// Sentinel errors: test with errors.Is. Every error an rpc returns is an *Error (or a
// *ConflictError) that matches the sentinel of its code.
var (
	// ErrNotFound: the session is unknown, expired or deleted.
	ErrNotFound = errors.New("sessiond: session not found")
	// ErrConflict: a commit wrote a key another writer changed since it was loaded (see
	// ConflictError), or an if_version did not match.
	ErrConflict = errors.New("sessiond: conflict")
	// ErrUnavailable: sessiond cannot be reached or cannot serve right now; nothing was written
	// unless the reply was lost.
	ErrUnavailable = errors.New("sessiond: unavailable")
	// ErrInvalidArgument: a malformed id, key, value or timeout.
	ErrInvalidArgument = errors.New("sessiond: invalid argument")
	// ErrAlreadyExists: a proposed session id is taken.
	ErrAlreadyExists = errors.New("sessiond: session id already exists")
	// ErrOutOfRange: WatchSessions asked for a sequence the server's event log no longer (or does
	// not yet) hold: re-read the sessions you track, then watch from the sequence the message
	// names.
	ErrOutOfRange = errors.New("sessiond: sequence outside the event log")
)

var sentinels = map[codes.Code]error{
	codes.NotFound:        ErrNotFound,
	codes.Aborted:         ErrConflict,
	codes.Unavailable:     ErrUnavailable,
	codes.InvalidArgument: ErrInvalidArgument,
	codes.AlreadyExists:   ErrAlreadyExists,
	codes.OutOfRange:      ErrOutOfRange,
}

// Error is a failed rpc: which one, against which server, the gRPC code and the server's message.
type Error struct {
	Op      string // The rpc, e.g. "Commit".
	Address string // The server, as given to Dial.
	Code    codes.Code
	Message string
}

// Error says which rpc failed against which server, with the code and the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("sessiond at %s: %s: %s: %s", e.Address, e.Op, e.Code, e.Message)
}

// Is reports whether target is the sentinel of e's code.
func (e *Error) Is(target error) bool { return sentinels[e.Code] == target }

// GRPCStatus returns e as a gRPC status (for code that inspects statuses).
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// ConflictError is an ABORTED rpc: Keys are the written keys another writer changed after the
// version this one read (empty for an if_version mismatch); CurrentVersion is the session's
// version then. It matches ErrConflict; errors.As reaches the underlying *Error too.
type ConflictError struct {
	Err            *Error
	Keys           []string
	CurrentVersion uint64
}

// Error is the *Error's text followed by the conflicting keys.
func (e *ConflictError) Error() string {
	if len(e.Keys) == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s (conflicting keys: %s)", e.Err.Error(), strings.Join(e.Keys, ", "))
}

// Unwrap returns the underlying *Error.
func (e *ConflictError) Unwrap() error { return e.Err }

// GoneError is a NOT_FOUND that says why the session is gone, while the server remembers (its
// --gone_retention): Reason is EXPIRED_IDLE, EXPIRED_ABSOLUTE, DELETED, REVOKED, EVICTED or
// ROTATED, EndedAt when. A NOT_FOUND without a reason is a plain *Error. It matches ErrNotFound;
// errors.As reaches the underlying *Error too.
type GoneError struct {
	Err     *Error
	Reason  sessiondv1.NotFoundDetails_Reason
	EndedAt time.Time
}

// Error is the *Error's text followed by the reason.
func (e *GoneError) Error() string { return fmt.Sprintf("%s (%s)", e.Err.Error(), e.Reason) }

// Unwrap returns the underlying *Error.
func (e *GoneError) Unwrap() error { return e.Err }

// wrap converts an rpc's error into an *Error, or, from the details in the grpc-status-details-bin
// trailer, a *ConflictError for ABORTED or a *GoneError for a NOT_FOUND that says why.
func (c *Client) wrap(op string, err error) error {
	st := status.Convert(err)
	var conflict *sessiondv1.ConflictDetails
	var notFound *sessiondv1.NotFoundDetails
	for _, detail := range st.Details() {
		switch details := detail.(type) {
		case *sessiondv1.ConflictDetails:
			conflict = details
		case *sessiondv1.NotFoundDetails:
			notFound = details
		}
	}
	return c.failure(op, st.Code(), st.Message(), conflict, notFound)
}

// resultError converts a failed Batch result into exactly the error wrap makes of the same
// operation's unary rpc failing (the result carries the status details as fields).
func (c *Client) resultError(op string, result *sessiondv1.BatchResult) error {
	return c.failure(op, codes.Code(result.GetCode()), result.GetMessage(), result.GetConflict(),
		result.GetNotFound())
}

// failure is the error of op failing with code and message: a *ConflictError for ABORTED (with
// conflict's keys and version, if any), a *GoneError for a NOT_FOUND whose notFound gives a
// reason, else an *Error. conflict and notFound may be nil.
func (c *Client) failure(op string, code codes.Code, message string,
	conflict *sessiondv1.ConflictDetails, notFound *sessiondv1.NotFoundDetails) error {
	e := &Error{Op: op, Address: c.address, Code: code, Message: message}
	switch {
	case code == codes.Aborted:
		return &ConflictError{Err: e, Keys: conflict.GetConflictingKeys(),
			CurrentVersion: conflict.GetCurrentVersion()}
	case code == codes.NotFound && notFound.GetReason() != sessiondv1.NotFoundDetails_UNKNOWN:
		return &GoneError{Err: e, Reason: notFound.GetReason(), EndedAt: notFound.GetEndedAt().AsTime()}
	}
	return e
}

// replyMayBeLost reports whether a failed rpc may have been applied: its retry with the same
// request_id is safe and may succeed.
func replyMayBeLost(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == codes.Unavailable || e.Code == codes.DeadlineExceeded ||
		e.Code == codes.Canceled
}
