package sessiond

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	v1 "sessiond.dev/client/go/sessiondv1"
)

// method is one unary rpc as call sends it: its name (for errors), its stub, and how its request
// and response travel in a Batch (the operation's and the result's oneof case).
type method[Req, Resp proto.Message] struct {
	name      string
	unary     func(v1.SessionServiceClient, context.Context, Req, ...grpc.CallOption) (Resp, error)
	operation func(Req) *v1.BatchOperation
	response  func(*v1.BatchResult) Resp
}

// The unary rpcs the client makes.
var (
	createSessionMethod = method[*v1.CreateSessionRequest, *v1.CreateSessionResponse]{
		"CreateSession", v1.SessionServiceClient.CreateSession,
		func(r *v1.CreateSessionRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_CreateSession{CreateSession: r}}
		}, (*v1.BatchResult).GetCreateSession}
	getMethod = method[*v1.GetRequest, *v1.GetResponse]{
		"Get", v1.SessionServiceClient.Get,
		func(r *v1.GetRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_Get{Get: r}}
		}, (*v1.BatchResult).GetGet}
	commitMethod = method[*v1.CommitRequest, *v1.CommitResponse]{
		"Commit", v1.SessionServiceClient.Commit,
		func(r *v1.CommitRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_Commit{Commit: r}}
		}, (*v1.BatchResult).GetCommit}
	rotateIDMethod = method[*v1.RotateIdRequest, *v1.RotateIdResponse]{
		"RotateId", v1.SessionServiceClient.RotateId,
		func(r *v1.RotateIdRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_RotateId{RotateId: r}}
		}, (*v1.BatchResult).GetRotateId}
	deleteMethod = method[*v1.DeleteRequest, *v1.DeleteResponse]{
		"Delete", v1.SessionServiceClient.Delete,
		func(r *v1.DeleteRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_Delete{Delete: r}}
		}, (*v1.BatchResult).GetDelete}
	listSessionsMethod = method[*v1.ListSessionsRequest, *v1.ListSessionsResponse]{
		"ListSessions", v1.SessionServiceClient.ListSessions,
		func(r *v1.ListSessionsRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_ListSessions{ListSessions: r}}
		}, (*v1.BatchResult).GetListSessions}
	revokeSessionsMethod = method[*v1.RevokeSessionsRequest, *v1.RevokeSessionsResponse]{
		"RevokeSessions", v1.SessionServiceClient.RevokeSessions,
		func(r *v1.RevokeSessionsRequest) *v1.BatchOperation {
			return &v1.BatchOperation{Request: &v1.BatchOperation_RevokeSessions{RevokeSessions: r}}
		}, (*v1.BatchResult).GetRevokeSessions}
)
