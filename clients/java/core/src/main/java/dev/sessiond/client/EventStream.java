package dev.sessiond.client;

import dev.sessiond.v1.SessionEvent;
import dev.sessiond.v1.SessionServiceGrpc;
import dev.sessiond.v1.WatchSessionsRequest;
import dev.sessiond.v1.WatchSessionsResponse;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * One WatchSessions stream ({@link Client#watchSessions}), read event by event: the server sends
 * events in batches and {@link #next()} unpacks them. {@code next} blocks until the next event and
 * throws a {@link SessiondException} when the stream ends: OUT_OF_RANGE (the sequence asked for is
 * not in the server's log: resynchronise), RESOURCE_EXHAUSTED (this reader fell behind),
 * UNAVAILABLE (the server went away or drains), CANCELLED after {@link #close()}. To resume, watch
 * again from the last event's sequence + 1. One reader thread; {@code close} from any thread.
 */
public final class EventStream implements AutoCloseable {
  private final Context.CancellableContext context;
  private final Iterator<WatchSessionsResponse> messages;
  private final String address;
  private final ArrayDeque<SessionEvent> batch = new ArrayDeque<>();

  private EventStream(
      Context.CancellableContext context,
      Iterator<WatchSessionsResponse> messages,
      String address) {
    this.context = context;
    this.messages = messages;
    this.address = address;
  }

  static EventStream start(Channel channel, WatchSessionsRequest request, String address) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      return new EventStream(
          context, SessionServiceGrpc.newBlockingStub(channel).watchSessions(request), address);
    } finally {
      context.detach(previous);
    }
  }

  /** The next event; blocks until it arrives. Throws a SessiondException when the stream ends. */
  public SessionEvent next() {
    try {
      while (batch.isEmpty()) {
        if (!messages.hasNext()) {
          throw Errors.from(
              io.grpc.Status.UNAVAILABLE
                  .withDescription("the server ended the stream")
                  .asRuntimeException(),
              address);
        }
        batch.addAll(messages.next().getEventsList());
      }
    } catch (StatusRuntimeException e) {
      throw Errors.from(e, address);
    }
    return batch.removeFirst();
  }

  /** Ends the stream; a blocked {@link #next()} throws a CANCELLED SessiondException. */
  @Override
  public void close() {
    context.cancel(null);
  }
}
