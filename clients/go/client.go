// Package sessiond is the Go client of sessiond, the gRPC session service: a Client over one
// connection, and a Session mirroring ASP.NET Core's ISession (load lazily, change locally, commit
// once with per-key conflict detection). See clients/go/README.md.
package sessiond

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"sessiond.dev/client/go/sessiondv1"
)

// Options configures a Client. The zero value is usable: every field has a default.
type Options struct {
	// Timeout is the deadline of every rpc whose context has none (a context's own deadline, for
	// example the web request's, replaces it). Default 2 s.
	Timeout time.Duration
	// CommitAttempts is how many times Commit (and Create) send a request whose reply was lost
	// (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED), with one request_id so the server applies it at
	// most once. Default 3; 1 disables retries.
	CommitAttempts int
	// RetryBackoff is the pause before the second attempt; it doubles for each further one.
	// Default 50 ms.
	RetryBackoff time.Duration
	// ConflictAttempts is how many times Update runs its work when commits keep conflicting.
	// Default 3.
	ConflictAttempts int
	// DisableBatching sends every call as its own rpc. By default the calls goroutines make
	// concurrently are coalesced into Batch rpcs (group commit): a call is sent at once when no
	// rpc of the client is in flight; otherwise it waits for the one in flight to return and goes
	// with the others that queued meanwhile. Results and errors are the same either way.
	DisableBatching bool
	// MaxBatchOperations caps the calls in one Batch (the server's --max_batch_operations must
	// allow it); a queue that reaches it is sent at once. Default 128.
	MaxBatchOperations int
	// MaxBatchBytes caps the serialized requests in one Batch: a call that would go over it starts
	// the next batch, and a call over it on its own is sent as its own rpc. Default 512 KiB.
	MaxBatchBytes int
	// NearCacheMaxBytes turns the near cache on: sessions the client loaded are kept in memory, up
	// to this many bytes (least recently used first out), and loaded again without an rpc while
	// the server's invalidation stream grants a lease (bounded staleness: see the README). 0: off.
	NearCacheMaxBytes int64
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.CommitAttempts <= 0 {
		o.CommitAttempts = 3
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 50 * time.Millisecond
	}
	if o.ConflictAttempts <= 0 {
		o.ConflictAttempts = 3
	}
	if o.MaxBatchOperations <= 0 {
		o.MaxBatchOperations = 128
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 512 * 1024
	}
	return o
}

// Client talks to one sessiond over one gRPC connection. It is safe for concurrent use; create one
// per process and reuse it.
type Client struct {
	rpc     sessiondv1.SessionServiceClient
	conn    *grpc.ClientConn // Owned by the client (Dial), or nil (NewClient).
	address string
	opts    Options
	batcher *batcher // nil when Options.DisableBatching.
	// near is the near cache, nil when off; its invalidation stream runs until life ends (Close, or
	// the Close of the client this one was derived from), and closes watched when it has stopped.
	near    *nearCache
	life    context.Context
	end     context.CancelFunc
	watched chan struct{}
}

// Dial returns a Client of the sessiond at address ("host:port"). Without dial options the
// connection is plaintext (insecure credentials); pass grpc.WithTransportCredentials for TLS. It
// does not connect yet: a server that cannot be reached fails the first rpc with an error that
// matches ErrUnavailable and names the address.
func Dial(address string, opts Options, dial ...grpc.DialOption) (*Client, error) {
	if len(dial) == 0 {
		dial = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, err
	}
	client := NewClient(conn, address, opts)
	client.conn = conn
	return client, nil
}

// NewClient returns a Client over a connection the caller owns (and closes); address only names
// the server in error messages.
func NewClient(conn grpc.ClientConnInterface, address string, opts Options) *Client {
	c := &Client{rpc: sessiondv1.NewSessionServiceClient(conn), address: address,
		opts: opts.withDefaults()}
	if !c.opts.DisableBatching {
		c.batcher = &batcher{rpc: c.rpc, maxOperations: c.opts.MaxBatchOperations,
			maxBytes: c.opts.MaxBatchBytes}
	}
	c.start(context.Background())
	return c
}

// start starts the near cache's invalidation stream, if the near cache is on, until Close or the
// end of parent.
func (c *Client) start(parent context.Context) {
	c.life, c.end = context.WithCancel(parent)
	c.watched = make(chan struct{})
	if c.opts.NearCacheMaxBytes <= 0 {
		close(c.watched)
		return
	}
	c.near = newNearCache(c.opts.NearCacheMaxBytes)
	go func() {
		defer close(c.watched)
		c.near.watch(c.life, c.rpc)
	}()
}

// Close stops the near cache's invalidation stream (and those of the clients WithNearCache
// derived from this one) and closes the connection Dial opened; the connection of NewClient stays
// open.
func (c *Client) Close() error {
	c.end()
	<-c.watched
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// RPC returns the generated stub, for rpcs the Session API does not cover. Its calls get no
// default deadline and return raw gRPC errors.
func (c *Client) RPC() sessiondv1.SessionServiceClient { return c.rpc }

// call runs one rpc under ctx's deadline, or the client's timeout if ctx has none, converting its
// error. It goes through the batcher unless batching is off or ctx carries outgoing metadata
// (which a Batch shared with other callers could not carry). A write drops its session from the
// near cache before it is sent and again when it returns (so no read in flight meanwhile refills
// it with what it replaced); Client.commit sends Commits that write through instead.
func call[Req, Resp proto.Message](ctx context.Context, c *Client, m method[Req, Resp],
	request Req) (Resp, error) {
	if named, ok := any(request).(interface{ GetId() string }); ok && m.writes && c.near != nil &&
		named.GetId() != "" {
		c.near.forget(named.GetId())
		defer c.near.forget(named.GetId())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	var none Resp
	if _, hasMetadata := metadata.FromOutgoingContext(ctx); c.batcher == nil || hasMetadata {
		response, err := m.unary(c.rpc, ctx, request)
		if err != nil {
			return none, c.wrap(m.name, err)
		}
		return response, nil
	}
	o := c.batcher.do(ctx, m.operation(request), func(ctx context.Context) (proto.Message, error) {
		return m.unary(c.rpc, ctx, request)
	})
	switch {
	case o.err != nil:
		return none, c.wrap(m.name, o.err)
	case o.result == nil:
		return o.response.(Resp), nil
	case codes.Code(o.result.GetCode()) != codes.OK:
		return none, c.resultError(m.name, o.result)
	}
	return m.response(o.result), nil
}
