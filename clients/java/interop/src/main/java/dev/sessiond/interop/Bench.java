package dev.sessiond.interop;

import dev.sessiond.client.Client;
import dev.sessiond.client.ClientOptions;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A small benchmark of the Java client against sessiond at {@code $SESSIOND_ADDR}: the web
 * request's cycle (open, load with one Get, set one key, one Commit) run {@code REQUESTS} times by
 * each of {@code THREADS} threads over one shared Client, after a warm-up. Prints requests per
 * second and latency percentiles. Usage: {@code java -cp sessiond-interop.jar
 * dev.sessiond.interop.Bench THREADS REQUESTS [MODE]}; MODE {@code unbatched} turns automatic
 * batching off, so that every call is its own rpc; {@code readmostly} runs the read-mostly mix
 * instead (4 of 5 requests only load the session, every 5th also sets one key and commits), and
 * {@code readmostly-nearcache} the same mix with a 16 MiB near cache.
 */
public final class Bench {
  private Bench() {}

  /** Runs the benchmark and prints one line per phase. */
  public static void main(String[] args) throws Exception {
    int threads = Integer.parseInt(args[0]);
    int requests = Integer.parseInt(args[1]);
    String mode = args.length < 3 ? "" : args[2];
    ClientOptions options =
        ClientOptions.defaults()
            .withBatching(!mode.equals("unbatched"))
            .withNearCache(mode.equals("readmostly-nearcache") ? 16 << 20 : 0);
    int writeEvery = mode.startsWith("readmostly") ? 5 : 1;
    try (Client client = Client.connect(System.getenv("SESSIOND_ADDR"), options)) {
      run(client, threads, Math.min(requests, 500), writeEvery, "warm-up");
      run(client, threads, requests, writeEvery, "measured");
    }
  }

  private static void run(Client client, int threads, int requests, int writeEvery, String phase)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<long[]>> results = new ArrayList<>();
    long start = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      results.add(pool.submit(() -> cycles(client, requests, writeEvery)));
    }
    long[] all = new long[threads * requests];
    for (int t = 0; t < threads; t++) {
      System.arraycopy(results.get(t).get(), 0, all, t * requests, requests);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    pool.shutdown();
    Arrays.sort(all);
    System.out.printf(
        "%s: %d threads x %d requests (Get, + Commit in 1 of %d): %.0f requests/s, p50 %.2f ms,"
            + " p99 %.2f ms%n",
        phase,
        threads,
        requests,
        writeEvery,
        all.length / seconds,
        all[all.length / 2] / 1e6,
        all[(int) (all.length * 0.99)] / 1e6);
  }

  /**
   * {@code count} request cycles on one session, every {@code writeEvery}-th also writing; the
   * latency of each in nanoseconds.
   */
  private static long[] cycles(Client client, int count, int writeEvery) {
    Session created = Session.startNew(client, CreateOptions.defaults());
    created.setLong("visits", 0);
    created.commit();
    long[] latencies = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      Session session = Session.open(client, created.id());
      long visits = session.getLong("visits");
      if (i % writeEvery == 0) {
        session.setLong("visits", visits + 1);
        session.commit();
      }
      latencies[i] = System.nanoTime() - start;
    }
    return latencies;
  }
}
