// The near cache's WatchInvalidations stream: opened at first use, pinged every quarter lease,
// reopened with backoff when it breaks, ended when the cache goes unused, so that it never keeps
// an idle process alive.
import { ClientDuplexStream, Metadata } from "@grpc/grpc-js";
import {
  Invalidation,
  InvalidationsResponse,
  LeaseRequest,
  SessionServiceClient,
} from "../gen/sessiond/v1/session.pb.js";
import { durationMs } from "./duration.js";

/** What the stream tells its cache. */
export interface InvalidationListener {
  /** Changes the server committed, in order; called before the lease they come with is granted. */
  onInvalidations(invalidations: Invalidation[]): void;
  /** The stream broke, ended or was closed: nothing it vouched for may be served any more. */
  onBreak(): void;
}

/** The lease assumed until the server names its own (proto: --near_cache_lease's default). */
const defaultLeaseMs = 100;
/** Reconnection backoff: the first pause, doubled after each failure up to the last. */
const firstBackoffMs = 50;
const lastBackoffMs = 5000;
/** Pings sent and not granted yet, at most; a stalled server gets no more until it answers. */
const maxPingsInFlight = 16;
/** The stream ends (and the cache empties) when the cache was not used for this long. */
export const idleStreamMs = 1000;

type Stream = ClientDuplexStream<LeaseRequest, InvalidationsResponse>;

/**
 * One WatchInvalidations stream of a client and its lease: `leaseCurrent` says whether cached
 * sessions may be served now (monotonic clock: performance.now). Its timers are unref'd; an open
 * stream holds the process only while the cache is used (idleStreamMs), and close ends it at once.
 * Its failures never reach callers: it reports them to the listener and reconnects.
 */
export class InvalidationStream {
  private call: Stream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextPing = 1n;
  private readonly pingSentAt = new Map<bigint, number>();
  private leaseMs = defaultLeaseMs;
  private leaseUntil = 0;
  private granted = false;
  private breaks = 0;
  private backoffMs = firstBackoffMs;
  private lastUse = 0;
  private closed = false;

  constructor(
    private readonly stub: SessionServiceClient,
    private readonly listener: InvalidationListener,
  ) {}

  /** Notes a use of the cache, and opens the stream if it is not open or reconnecting. */
  use(): void {
    this.lastUse = performance.now();
    if (this.call === undefined && this.timer === undefined && !this.closed) this.open();
  }

  /** Whether a lease is current: cached sessions may be served. */
  leaseCurrent(): boolean {
    return performance.now() < this.leaseUntil;
  }

  /**
   * The stream's generation if a Get sent now may fill the cache (a ping was granted on the open
   * stream), else undefined. A fill lands only if the generation is unchanged when it returns.
   */
  fillGeneration(): number | undefined {
    return this.call !== undefined && this.granted ? this.breaks : undefined;
  }

  /** The current generation: how many times the stream broke or ended. */
  get generation(): number {
    return this.breaks;
  }

  /** Ends the stream for good; later uses do not reopen it. */
  close(): void {
    this.closed = true;
    this.stop();
  }

  private open(): void {
    const call = this.stub.watchInvalidations(new Metadata(), {});
    this.call = call;
    call.on("data", (message: InvalidationsResponse) => this.receive(call, message));
    call.on("error", () => this.broken(call));
    call.on("end", () => this.broken(call));
    this.ping();
  }

  /** Sends the next ping (unless too many are unanswered) and schedules the one after. */
  private ping(): void {
    const call = this.call as Stream;
    if (performance.now() - this.lastUse > idleStreamMs) return this.stop();
    if (this.pingSentAt.size < maxPingsInFlight) {
      const ping = this.nextPing++;
      this.pingSentAt.set(ping, performance.now());
      call.write({ ping });
    }
    this.schedule(() => this.ping(), this.leaseMs / 4);
  }

  private receive(call: Stream, message: InvalidationsResponse): void {
    if (call !== this.call) return;
    if (message.invalidations.length > 0) this.listener.onInvalidations(message.invalidations);
    const granted = message.grantedPing;
    if (granted === 0n) return;
    if (message.lease) this.leaseMs = durationMs(message.lease);
    const sentAt = this.pingSentAt.get(granted);
    if (sentAt !== undefined) this.leaseUntil = Math.max(this.leaseUntil, sentAt + this.leaseMs);
    for (const ping of this.pingSentAt.keys()) if (ping <= granted) this.pingSentAt.delete(ping);
    this.granted = true;
    this.backoffMs = firstBackoffMs;
  }

  /** The stream `call` failed or ended: forget its lease, tell the cache, reconnect after a pause. */
  private broken(call: Stream): void {
    if (call !== this.call) return;
    this.stop();
    const pause = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, lastBackoffMs);
    this.schedule(() => {
      this.timer = undefined;
      if (!this.closed && performance.now() - this.lastUse <= idleStreamMs) this.open();
    }, pause);
  }

  /** Ends the current stream (if any) and its lease, and tells the listener. */
  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.leaseUntil = 0;
    this.granted = false;
    this.pingSentAt.clear();
    this.breaks++;
    this.listener.onBreak();
  }

  private schedule(run: () => void, ms: number): void {
    this.timer = setTimeout(run, ms);
    this.timer.unref();
  }
}
