package dev.sessiond.client;

import dev.sessiond.v1.SessionServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

/**
 * A channel interceptor that, while held, keeps the messages of WatchInvalidations streams from
 * reaching the client (for at most 10 s), as a slow network would; they arrive in order once
 * released. Other calls pass untouched.
 */
final class InvalidationGate implements ClientInterceptor {
  private static final long MAX_HOLD_MILLIS = 10_000;
  private boolean held;

  /** Holds back the invalidation messages that arrive from now on. */
  synchronized void hold() {
    held = true;
  }

  /** Lets the held messages and the later ones through. */
  synchronized void release() {
    held = false;
    notifyAll();
  }

  /** Waits while held, at most {@link #MAX_HOLD_MILLIS}. */
  private synchronized void passage() {
    long end = System.currentTimeMillis() + MAX_HOLD_MILLIS;
    try {
      for (long left = MAX_HOLD_MILLIS; held && left > 0; left = end - System.currentTimeMillis()) {
        wait(left);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    ClientCall<Q, R> call = next.newCall(method, options);
    String watch = SessionServiceGrpc.getWatchInvalidationsMethod().getFullMethodName();
    if (!method.getFullMethodName().equals(watch)) {
      return call;
    }
    return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onMessage(R message) {
                passage();
                super.onMessage(message);
              }
            },
            headers);
      }
    };
  }
}
