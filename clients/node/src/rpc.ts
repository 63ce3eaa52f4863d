// The two ways a Client sends its operations over a SessionServiceClient stub: one operation as its
// own unary rpc, or many as one Batch rpc. Operations are typed by the BatchOperation request oneof,
// so one table serves both: the $case is the stub's method name.
import { Metadata, ServiceError } from "@grpc/grpc-js";
import { fromServiceError } from "./errors.js";
import {
  BatchOperation,
  BatchRequest,
  BatchResponse,
  BatchResult,
  SessionServiceClient,
} from "./gen/sessiond/v1/session.pb.js";

/** One unary call's request, tagged with its kind ("get", "commit", ...). */
export type Operation = NonNullable<BatchOperation["request"]>;

/** The kind of an operation: the name of the stub's method for it. */
export type OperationKind = Operation["$case"];

/** The request message of an operation kind. */
export type RequestOf<K extends OperationKind> = Extract<Operation, { $case: K }>["value"];

/** The response message of an operation kind. */
export type ResponseOf<K extends OperationKind> = Extract<NonNullable<BatchResult["response"]>, { $case: K }>["value"];

/** The rpc of each operation kind, as errors name it. */
export const rpcNames: Record<OperationKind, string> = {
  createSession: "CreateSession",
  get: "Get",
  set: "Set",
  remove: "Remove",
  clear: "Clear",
  touch: "Touch",
  delete: "Delete",
  commit: "Commit",
  rotateId: "RotateId",
  listSessions: "ListSessions",
  revokeSessions: "RevokeSessions",
};

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/**
 * Calls `method` of `stub`; rejects with `onError` of the ServiceError grpc-js reports, or with what
 * grpc-js throws (a closed channel) as it is.
 */
function call<Req, Res>(
  stub: SessionServiceClient,
  method: string,
  request: Req,
  deadline: Date,
  onError: (error: ServiceError) => Error,
): Promise<Res> {
  const send = (stub as unknown as Record<string, UnaryMethod<Req, Res>>)[method].bind(stub);
  return new Promise((resolve, reject) => {
    send(request, new Metadata(), { deadline }, (error, response) => {
      if (error) reject(onError(error));
      else resolve(response);
    });
  });
}

/**
 * Sends `operation` as its own rpc with `deadline`, to the server at `address`: resolves to its
 * response, rejects with the typed error of errors.ts.
 */
export function sendUnary(
  stub: SessionServiceClient,
  address: string,
  operation: Operation,
  deadline: Date,
): Promise<unknown> {
  const rpc = rpcNames[operation.$case];
  return call(stub, operation.$case, operation.value, deadline, (error) => fromServiceError(error, rpc, address));
}

/**
 * Sends `request` as one Batch rpc with `deadline`: resolves to its response, rejects with the
 * ServiceError of the Batch rpc itself (each caller converts it for its own rpc).
 */
export function sendBatch(stub: SessionServiceClient, request: BatchRequest, deadline: Date): Promise<BatchResponse> {
  return call(stub, "batch", request, deadline, (error) => error);
}
