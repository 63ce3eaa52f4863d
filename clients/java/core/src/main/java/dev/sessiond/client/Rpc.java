package dev.sessiond.client;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.sessiond.v1.BatchOperation;
import dev.sessiond.v1.BatchResult;
import dev.sessiond.v1.CommitRequest;
import dev.sessiond.v1.CommitResponse;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.CreateSessionResponse;
import dev.sessiond.v1.DeleteRequest;
import dev.sessiond.v1.DeleteResponse;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.ListSessionsRequest;
import dev.sessiond.v1.ListSessionsResponse;
import dev.sessiond.v1.RevokeSessionsRequest;
import dev.sessiond.v1.RevokeSessionsResponse;
import dev.sessiond.v1.RotateIdRequest;
import dev.sessiond.v1.RotateIdResponse;
import dev.sessiond.v1.SessionServiceGrpc.SessionServiceFutureStub;
import dev.sessiond.v1.TouchRequest;
import dev.sessiond.v1.TouchResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One unary rpc of {@code SessionService} as the client sends it: alone, as its own rpc, or as an
 * operation of a Batch whose result it reads back. The constants are the unary rpcs {@link Client}
 * makes.
 *
 * @param unary the stub's method sending the request alone
 * @param wrap puts the request into its case of a {@link BatchOperation}
 * @param responseCase the case of a successful {@link BatchResult} for this rpc
 * @param unwrap the response in that case
 */
record Rpc<Q, R>(
    BiFunction<SessionServiceFutureStub, Q, ListenableFuture<R>> unary,
    BiConsumer<BatchOperation.Builder, Q> wrap,
    BatchResult.ResponseCase responseCase,
    Function<BatchResult, R> unwrap) {
  static final Rpc<CreateSessionRequest, CreateSessionResponse> CREATE_SESSION =
      new Rpc<>(
          SessionServiceFutureStub::createSession,
          BatchOperation.Builder::setCreateSession,
          BatchResult.ResponseCase.CREATE_SESSION,
          BatchResult::getCreateSession);
  static final Rpc<GetRequest, GetResponse> GET =
      new Rpc<>(
          SessionServiceFutureStub::get,
          BatchOperation.Builder::setGet,
          BatchResult.ResponseCase.GET,
          BatchResult::getGet);
  static final Rpc<TouchRequest, TouchResponse> TOUCH =
      new Rpc<>(
          SessionServiceFutureStub::touch,
          BatchOperation.Builder::setTouch,
          BatchResult.ResponseCase.TOUCH,
          BatchResult::getTouch);
  static final Rpc<DeleteRequest, DeleteResponse> DELETE =
      new Rpc<>(
          SessionServiceFutureStub::delete,
          BatchOperation.Builder::setDelete,
          BatchResult.ResponseCase.DELETE,
          BatchResult::getDelete);
  static final Rpc<CommitRequest, CommitResponse> COMMIT =
      new Rpc<>(
          SessionServiceFutureStub::commit,
          BatchOperation.Builder::setCommit,
          BatchResult.ResponseCase.COMMIT,
          BatchResult::getCommit);
  static final Rpc<RotateIdRequest, RotateIdResponse> ROTATE_ID =
      new Rpc<>(
          SessionServiceFutureStub::rotateId,
          BatchOperation.Builder::setRotateId,
          BatchResult.ResponseCase.ROTATE_ID,
          BatchResult::getRotateId);
  static final Rpc<ListSessionsRequest, ListSessionsResponse> LIST_SESSIONS =
      new Rpc<>(
          SessionServiceFutureStub::listSessions,
          BatchOperation.Builder::setListSessions,
          BatchResult.ResponseCase.LIST_SESSIONS,
          BatchResult::getListSessions);
  static final Rpc<RevokeSessionsRequest, RevokeSessionsResponse> REVOKE_SESSIONS =
      new Rpc<>(
          SessionServiceFutureStub::revokeSessions,
          BatchOperation.Builder::setRevokeSessions,
          BatchResult.ResponseCase.REVOKE_SESSIONS,
          BatchResult::getRevokeSessions);

  /**
   * Sends {@code request} as its own rpc under {@code deadline}; the future fails with the typed
   * {@link SessiondException} of a call to {@code address}.
   */
  CompletableFuture<R> sendAlone(
      SessionServiceFutureStub stub, Q request, Deadline deadline, String address) {
    return completion(unary.apply(stub.withDeadline(deadline), request), address);
  }

  /** {@code request} as an operation of a Batch. */
  BatchOperation operation(Q request) {
    BatchOperation.Builder operation = BatchOperation.newBuilder();
    wrap.accept(operation, request);
    return operation.build();
  }

  /**
   * The response carried by {@code result}; throws what the call sent alone would have failed with,
   * or INTERNAL if the server answered with another rpc's response.
   */
  R response(BatchResult result, String address) {
    if (result.getCode() != Status.Code.OK.value()) {
      throw Errors.from(result, address);
    }
    if (result.getResponseCase() != responseCase) {
      throw new SessiondException(
          Status.Code.INTERNAL,
          "sessiond at "
              + address
              + ": a Batch result holds "
              + result.getResponseCase()
              + " for a "
              + responseCase
              + " request",
          null);
    }
    return unwrap.apply(result);
  }

  /**
   * {@code pending} as a {@link CompletableFuture}, failing with the typed {@link
   * SessiondException} of a call to {@code address}.
   */
  static <T> CompletableFuture<T> completion(ListenableFuture<T> pending, String address) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Futures.addCallback(
        pending,
        new FutureCallback<T>() {
          @Override
          public void onSuccess(T response) {
            result.complete(response);
          }

          @Override
          public void onFailure(Throwable failure) {
            result.completeExceptionally(Errors.from(failure, address));
          }
        },
        MoreExecutors.directExecutor());
    return result;
  }
}
