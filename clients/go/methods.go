package sessiond

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "sessiond.dev/client/go/sessiondv1"
)

// method is one unary rpc as call sends it: its name (for errors), its stub, the fields of the
// BatchOperation and BatchResult oneofs that carry its request and response in a Batch, and
// whether it writes the session its request names (which the near cache then drops).
type method[Req, Resp proto.Message] struct {
	name          string
	unary         func(v1.SessionServiceClient, context.Context, Req, ...grpc.CallOption) (Resp, error)
	requestField  protoreflect.FieldDescriptor
	responseField protoreflect.FieldDescriptor
	writes        bool
}

// newMethod describes the unary rpc name whose stub is unary; it panics if BatchOperation or
// BatchResult has no field of its request or response type (the stubs would be out of date).
func newMethod[Req, Resp proto.Message](name string,
	unary func(v1.SessionServiceClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) method[Req, Resp] {
	var request Req
	var response Resp
	return method[Req, Resp]{name: name, unary: unary,
		requestField:  oneofField(&v1.BatchOperation{}, "request", request),
		responseField: oneofField(&v1.BatchResult{}, "response", response)}
}

// oneofField returns the field of container's oneof whose type is that of value.
func oneofField(container proto.Message, oneof protoreflect.Name, value proto.Message) protoreflect.FieldDescriptor {
	fields := container.ProtoReflect().Descriptor().Oneofs().ByName(oneof).Fields()
	for i := range fields.Len() {
		if field := fields.Get(i); field.Message().FullName() == value.ProtoReflect().Descriptor().FullName() {
			return field
		}
	}
	panic("sessiond: " + string(container.ProtoReflect().Descriptor().Name()) + " carries no " +
		string(value.ProtoReflect().Descriptor().FullName()))
}

// operation returns request as a Batch operation.
func (m method[Req, Resp]) operation(request Req) *v1.BatchOperation {
	op := &v1.BatchOperation{}
	op.ProtoReflect().Set(m.requestField, protoreflect.ValueOfMessage(request.ProtoReflect()))
	return op
}

// response returns the response a successful Batch result carries; Resp's nil if the result is of
// another case.
func (m method[Req, Resp]) response(result *v1.BatchResult) Resp {
	var none Resp
	if !result.ProtoReflect().Has(m.responseField) {
		return none
	}
	return result.ProtoReflect().Get(m.responseField).Message().Interface().(Resp)
}

// writing returns m as a write of the session its request names.
func (m method[Req, Resp]) writing() method[Req, Resp] {
	m.writes = true
	return m
}

// The unary rpcs the client makes.
var (
	createSessionMethod  = newMethod("CreateSession", v1.SessionServiceClient.CreateSession).writing()
	getMethod            = newMethod("Get", v1.SessionServiceClient.Get)
	touchMethod          = newMethod("Touch", v1.SessionServiceClient.Touch)
	commitMethod         = newMethod("Commit", v1.SessionServiceClient.Commit).writing()
	commitThroughMethod  = newMethod("Commit", v1.SessionServiceClient.Commit) // Client.commit tells the near cache.
	rotateIDMethod       = newMethod("RotateId", v1.SessionServiceClient.RotateId).writing()
	deleteMethod         = newMethod("Delete", v1.SessionServiceClient.Delete).writing()
	listSessionsMethod   = newMethod("ListSessions", v1.SessionServiceClient.ListSessions)
	revokeSessionsMethod = newMethod("RevokeSessions", v1.SessionServiceClient.RevokeSessions)
)
