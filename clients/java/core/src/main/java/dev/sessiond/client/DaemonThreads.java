package dev.sessiond.client;

import java.util.concurrent.ThreadFactory;

/** Threads of the client's own timers, which must never keep a process alive. */
final class DaemonThreads {
  private DaemonThreads() {}

  /** A factory of daemon threads named {@code name}. */
  static ThreadFactory named(String name) {
    return task -> {
      Thread thread = new Thread(task, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
