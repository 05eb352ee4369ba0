package io.spanstream.flink;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink 2.3 never calls {@code close()} on trace (or event) reporters, so queued items would be
 * lost with the JVM. One shutdown hook closes every open reporter, all at once, each within its
 * {@code close.timeout.s}.
 */
final class ShutdownFlush {
  private static final Logger LOG = LoggerFactory.getLogger(ShutdownFlush.class);
  private static final Set<Closer> OPEN = ConcurrentHashMap.newKeySet();
  private static boolean hookAdded;

  /** What the hook calls. */
  interface Closer {
    /** Deliver within the reporter's deadline, then stop. */
    void closeAtShutdown();
  }

  private ShutdownFlush() {}

  static synchronized void register(Closer closer) {
    OPEN.add(closer);
    if (!hookAdded) {
      hookAdded = true;
      try {
        Runtime.getRuntime()
            .addShutdownHook(new Thread(ShutdownFlush::closeAll, "spanstream-kafka-shutdown"));
      } catch (IllegalStateException exc) {
        LOG.warn("the JVM is already shutting down: queued items may not be delivered");
      }
    }
  }

  static void unregister(Closer closer) {
    OPEN.remove(closer);
  }

  private static void closeAll() {
    List<Thread> closing = new ArrayList<>();
    for (Closer closer : OPEN) {
      Thread thread = new Thread(closer::closeAtShutdown, "spanstream-kafka-close");
      thread.start();
      closing.add(thread);
    }
    for (Thread thread : closing) {
      try {
        thread.join();
      } catch (InterruptedException exc) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
