package sessiond_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
)

// A commit whose reply is lost is sent again with the same request_id, so the server applies it
// once and answers the retry with the first outcome. (With a new request_id the retry would be
// ABORTED: its read_version predates its own first write of the key.)
func TestCommitRetriesALostReplyWithTheSameRequestID(t *testing.T) {
	ctx := context.Background()
	server := testserver.Start(t)
	var commits, lost atomic.Int32
	dropFirstCommitReply := func(ctx context.Context, method string, req, reply any,
		cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if method == "/sessiond.v1.SessionService/Commit" && commits.Add(1) == 1 && err == nil {
			lost.Add(1)
			return status.Error(codes.Unavailable, "reply lost (test)")
		}
		return err
	}
	conn, err := grpc.NewClient(server.Address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(dropFirstCommitReply))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := sessiond.NewClient(conn, server.Address, sessiond.Options{})

	s, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetInt("n", 1)
	if err := s.Commit(ctx); err != nil {
		t.Fatalf("Commit after a lost reply = %v, want success", err)
	}
	if lost.Load() != 1 || commits.Load() != 2 {
		t.Fatalf("%d replies lost, %d commits sent; want 1 and 2", lost.Load(), commits.Load())
	}
	if info := s.Info(); info.Version != 2 {
		t.Errorf("version %d after one applied commit, want 2", info.Version)
	}
}
