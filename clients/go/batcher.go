package sessiond

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"sessiond.dev/client/go/sessiondv1"
)

// batcher coalesces the unary calls that goroutines make concurrently into Batch rpcs by group
// commit: a call is sent at once, as its own unary rpc, when nothing the batcher sent is in
// flight; otherwise it queues, and the queue is sent as one Batch as soon as an rpc in flight
// returns, or at once when it reaches maxOperations (or the next call would take it over
// maxBytes). A queue of one call is sent as that call's own unary rpc, and so is a call over
// maxBytes on its own. Safe for concurrent use.
type batcher struct {
	rpc           sessiondv1.SessionServiceClient
	maxOperations int
	maxBytes      int

	mu         sync.Mutex
	inFlight   int       // rpcs the batcher sent that have not returned.
	queue      []*queued // Calls waiting for the next batch; empty when inFlight is 0.
	queueBytes int       // Serialized size of the queue's operations.
}

// queued is one call waiting in a batch.
type queued struct {
	ctx   context.Context // The caller's; it has a deadline.
	op    *sessiondv1.BatchOperation
	unary func(context.Context) (proto.Message, error)
	done  chan outcome // Buffered: a caller that stopped waiting never blocks the sender.
}

// outcome is how one call ended: its unary rpc's response, its Batch result (which may carry an
// error code), or an error of the rpc that carried it.
type outcome struct {
	response proto.Message
	result   *sessiondv1.BatchResult
	err      error
}

// do sends one call, op being its request as a batch operation and unary sending it as its own
// rpc, and returns how it ended. ctx must have a deadline: when ctx ends first, do returns at once
// with ctx's status error (DEADLINE_EXCEEDED or CANCELLED), though the call may still be applied.
func (b *batcher) do(ctx context.Context, op *sessiondv1.BatchOperation,
	unary func(context.Context) (proto.Message, error)) outcome {
	size := proto.Size(op)
	b.mu.Lock()
	if b.inFlight == 0 || size > b.maxBytes {
		b.inFlight++
		b.mu.Unlock()
		response, err := unary(ctx)
		b.returned()
		return outcome{response: response, err: err}
	}
	call := &queued{ctx: ctx, op: op, unary: unary, done: make(chan outcome, 1)}
	if b.queueBytes+size > b.maxBytes {
		b.flushLocked()
	}
	b.queue = append(b.queue, call)
	b.queueBytes += size
	if len(b.queue) >= b.maxOperations {
		b.flushLocked()
	}
	b.mu.Unlock()
	select {
	case o := <-call.done:
		return o
	case <-ctx.Done():
		return outcome{err: status.FromContextError(ctx.Err()).Err()}
	}
}

// flushLocked sends the queue, if any, as one batch. b.mu must be held.
func (b *batcher) flushLocked() {
	if len(b.queue) == 0 {
		return
	}
	batch := b.queue
	b.queue, b.queueBytes = nil, 0
	b.inFlight++
	go b.send(batch)
}

// returned records that an rpc in flight returned, and sends what queued meanwhile.
func (b *batcher) returned() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	b.flushLocked()
}

// send sends the calls of batch whose callers still wait: one as its own unary rpc, more as one
// Batch under the latest of their deadlines. Each caller gets its own outcome.
func (b *batcher) send(batch []*queued) {
	defer b.returned()
	var waiting []*queued
	for _, call := range batch {
		if call.ctx.Err() == nil {
			waiting = append(waiting, call)
		}
	}
	switch len(waiting) {
	case 0:
		return
	case 1:
		response, err := waiting[0].unary(waiting[0].ctx)
		waiting[0].done <- outcome{response: response, err: err}
		return
	}
	request := &sessiondv1.BatchRequest{Operations: make([]*sessiondv1.BatchOperation, len(waiting))}
	var deadline time.Time
	for i, call := range waiting {
		request.Operations[i] = call.op
		if own, _ := call.ctx.Deadline(); own.After(deadline) {
			deadline = own
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	response, err := b.rpc.Batch(ctx, request)
	results := response.GetResults()
	if err == nil && len(results) != len(waiting) {
		err = status.Errorf(codes.Internal, "Batch answered %d results for %d operations",
			len(results), len(waiting))
	}
	for i, call := range waiting {
		if err != nil {
			call.done <- outcome{err: err}
		} else {
			call.done <- outcome{result: results[i]}
		}
	}
}
