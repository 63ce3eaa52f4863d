package sessiond

import (
	"context"
	"errors"

	"google.golang.org/grpc/metadata"

	"sessiond.dev/client/go/sessiondv1"
)

// getAll returns every entry of session id: from the near cache when it may answer (and then
// renews the session's idle timer on the server if its last renewal is an eighth of its idle
// timeout old), else with a Get rpc, whose answer fills the cache when the stream allows. A ctx
// carrying outgoing metadata bypasses the cache: its credentials may not be the stream's.
func (c *Client) getAll(ctx context.Context, id string) (*sessiondv1.GetResponse, error) {
	request := &sessiondv1.GetRequest{Id: id}
	if _, hasMetadata := metadata.FromOutgoingContext(ctx); c.near == nil || hasMetadata {
		return call(ctx, c, getMethod, request)
	}
	if response, renew := c.near.lookup(id); response != nil {
		if renew != nil {
			go c.renew(renew)
		}
		return response, nil
	}
	f := c.near.startFill(id)
	response, err := call(ctx, c, getMethod, request)
	if f != nil {
		c.near.finishFill(f, id, response)
	}
	return response, err
}

// commit sends request (a Commit; again after a lost reply, see retry) and writes it through to
// the near cache's copy of its session when that is provably exact (nearCache.finishWrite),
// else drops the copy. A ctx carrying outgoing metadata only drops it: its credentials may not
// be the stream's, so its session may not be the cached one.
func (c *Client) commit(ctx context.Context, request *sessiondv1.CommitRequest) (*sessiondv1.CommitResponse, error) {
	if _, hasMetadata := metadata.FromOutgoingContext(ctx); c.near == nil || hasMetadata {
		return retry(ctx, c, func(ctx context.Context) (*sessiondv1.CommitResponse, error) {
			return call(ctx, c, commitMethod, request)
		})
	}
	w := c.near.startWrite(request.GetId())
	response, err := retry(ctx, c, func(ctx context.Context) (*sessiondv1.CommitResponse, error) {
		return call(ctx, c, commitThroughMethod, request)
	})
	c.near.finishWrite(w, request.GetId(), request.GetOps(), response.GetSession())
	return response, err
}

// renew sends one Touch of the cached session e (batched with the client's other calls; its
// errors go nowhere but a NOT_FOUND, which drops e) and records its answer in the cache.
func (c *Client) renew(e *cached) {
	response, err := call(c.life, c, touchMethod, &sessiondv1.TouchRequest{Id: e.id})
	c.near.renewed(e, response.GetSession(), errors.Is(err, ErrNotFound))
}

// WithNearCache returns a Client that shares c's connection, options and automatic batching and
// keeps its own near cache of at most maxBytes (Options.NearCacheMaxBytes; 0: none). Its Close
// stops its near cache only; c's Close stops it too. Framework glue uses it to turn the near cache
// on for the sessions it handles.
func (c *Client) WithNearCache(maxBytes int64) *Client {
	derived := &Client{rpc: c.rpc, address: c.address, opts: c.opts, batcher: c.batcher}
	derived.opts.NearCacheMaxBytes = maxBytes
	derived.start(c.life)
	return derived
}

// NearCacheStats returns the near cache's size and counters (zero when the client keeps none).
func (c *Client) NearCacheStats() NearCacheStats {
	if c.near == nil {
		return NearCacheStats{}
	}
	return c.near.stats()
}
