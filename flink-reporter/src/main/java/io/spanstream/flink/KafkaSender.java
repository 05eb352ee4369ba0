package io.spanstream.flink;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded queue, one sender thread and a Kafka producer: what the trace and the event reporter
 * share. {@link #offer} is the only method Flink's threads call while reporting; it never blocks
 * and never throws.
 *
 * <p>The sender thread makes sure the topic exists (retrying every second while the broker cannot
 * be reached, as items wait in the queue), then encodes each item and hands it to the producer.
 * When the queue is full, {@code queue.overflow.policy} drops the newest or the oldest item,
 * counted {@code queue-full}. An item over {@code record.max.bytes} (or the topic's
 * {@code max.message.bytes}) or a {@code span.max.*} limit is dropped {@code too-large}.
 *
 * @param <T> what the reporter queues (a Flink span, or a copy of an event)
 */
final class KafkaSender<T> {
  /** Turns a queued item into a record's value and key, on the sender thread. */
  interface Encoder<T> {
    /** The encoded record; {@link SpanLimits.Exceeded} drops it as {@code too-large}. */
    Encoded encode(T item) throws Exception;
  }

  /** An encoded record: key (or {@code null}) and value. */
  record Encoded(byte[] key, byte[] value) {}

  private static final Logger LOG = LoggerFactory.getLogger(KafkaSender.class);
  private static final long POLL_MILLIS = 100;
  private static final long TOPIC_RETRY_MILLIS = 1_000;
  private static final long TOPIC_TIMEOUT_MILLIS = 5_000;
  private static final long STATS_LOG_INTERVAL_NANOS = 60_000_000_000L;
  private static final int RECORD_OVERHEAD_BYTES = 256;

  private final String name;
  private final String clientId;
  private final ReporterSettings settings;
  private final Encoder<T> encoder;
  private final Counters counters;
  private final ArrayBlockingQueue<T> queue;
  private final List<Header> headers;
  private final int headerBytes;
  private final Thread thread;
  private final RateLimitedLog topicLog = new RateLimitedLog(LOG, 30_000);
  private volatile boolean stopping;
  private volatile boolean closing;
  private volatile String rejectReason;
  private volatile KafkaProducer<byte[], byte[]> producer;
  private int maxRecordBytes;

  KafkaSender(
      String name,
      String clientId,
      ReporterSettings settings,
      Contract contract,
      Encoder<T> encoder,
      Counters counters) {
    this.name = name;
    this.clientId = clientId;
    this.settings = settings;
    this.encoder = encoder;
    this.counters = counters;
    this.queue = new ArrayBlockingQueue<>(settings.queueMaxItems());
    this.headers = RecordHeaders.of(settings, contract);
    this.headerBytes = RecordHeaders.sizeBytes(headers);
    this.maxRecordBytes = settings.recordMaxBytes();
    this.thread = new Thread(this::run, clientId);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Queue an item; never blocks, never throws. Counted {@code queue-full} when it cannot. */
  void offer(T item) {
    counters.notified.increment();
    String reason = rejectReason;
    if (reason != null) {
      counters.rejected(reason);
      return;
    }
    if (queue.offer(item)) {
      counters.accepted.increment();
      return;
    }
    if (settings.dropOldest() && queue.poll() != null) {
      counters.accepted.increment();
      counters.dropped("queue-full", "the oldest queued item made room");
      if (queue.offer(item)) {
        return;
      }
      counters.accepted.decrement();
    }
    counters.rejected("queue-full");
  }

  /** Never start: every item given is dropped and counted with this reason. */
  void disable(String reason) {
    rejectReason = reason;
  }

  ReporterStats snapshot() {
    return counters.snapshot();
  }

  /** Wait until everything accepted is settled, at most {@code timeoutS}; return what is left. */
  long flush(double timeoutS) {
    long deadline = System.nanoTime() + (long) (timeoutS * 1e9);
    long pending = counters.snapshot().pending();
    while (pending > 0 && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException exc) {
        Thread.currentThread().interrupt();
        break;
      }
      pending = counters.snapshot().pending();
    }
    return pending;
  }

  /**
   * Deliver what is queued within {@code timeoutS}, then stop: what is still queued is dropped
   * {@code closed}; records the client still holds are abandoned (and counted) when it closes.
   * Returns the number of items that were still pending at the deadline.
   */
  long close(double timeoutS) {
    long deadline = System.nanoTime() + (long) (timeoutS * 1e9);
    closing = true;
    if (rejectReason == null) {
      rejectReason = "closed";
    }
    long pending = flush(timeoutS);
    stopping = true;
    try {
      thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
    } catch (InterruptedException exc) {
      Thread.currentThread().interrupt();
    }
    KafkaProducer<byte[], byte[]> client = producer;
    if (client != null) {
      long leftMillis = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
      try {
        client.close(Duration.ofMillis(leftMillis));
      } catch (RuntimeException exc) {
        LOG.warn("{}: error while closing the Kafka producer", name, exc);
      }
    }
    T item;
    while ((item = queue.poll()) != null) {
      counters.dropped("closed", "still queued at close");
    }
    LOG.info("{} closed: {}", name, counters.snapshot().toLogLine());
    return pending;
  }

  private void run() {
    // The Kafka client looks classes up through the context class loader: make it the plugin's.
    Thread.currentThread().setContextClassLoader(KafkaSender.class.getClassLoader());
    Properties properties;
    try {
      properties = ProducerProperties.of(settings, clientId);
      waitForTopic(properties);
      if (stopping) {
        return;
      }
      producer = new KafkaProducer<>(properties);
    } catch (Exception | LinkageError exc) {
      LOG.error("{} cannot start its Kafka producer; it drops everything it is given", name, exc);
      rejectReason = "not-configured";
      drainAs("not-configured");
      return;
    }
    long nextStats = System.nanoTime() + STATS_LOG_INTERVAL_NANOS;
    String lastStats = "";
    while (!stopping) {
      T item;
      try {
        item = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException exc) {
        break;
      }
      if (item != null) {
        send(item);
      }
      if (System.nanoTime() - nextStats > 0) {
        nextStats = System.nanoTime() + STATS_LOG_INTERVAL_NANOS;
        String line = counters.snapshot().toLogLine();
        if (!line.equals(lastStats)) {
          LOG.info("{}: {}", name, line);
          lastStats = line;
        }
      }
    }
  }

  private void waitForTopic(Properties properties) throws InterruptedException {
    try (Admin admin = Admin.create(TopicCheck.adminProperties(properties))) {
      while (!stopping) {
        try {
          int topicMax = TopicCheck.ensure(admin, settings, TOPIC_TIMEOUT_MILLIS);
          maxRecordBytes = Math.min(settings.recordMaxBytes(), topicMax);
          LOG.info("{} writes to topic {} at {}", name, settings.topic(),
              settings.bootstrapServers());
          return;
        } catch (InterruptedException exc) {
          throw exc;
        } catch (Exception exc) {
          topicLog.warn("topic", "{} cannot use topic {} yet ({}); {} items wait in the queue",
              name, settings.topic(), exc.toString(), queue.size());
        }
        long until = System.nanoTime() + TOPIC_RETRY_MILLIS * 1_000_000;
        while (!stopping && System.nanoTime() - until < 0) {
          Thread.sleep(20);
        }
      }
    }
  }

  private void send(T item) {
    Encoded encoded;
    try {
      encoded = encoder.encode(item);
    } catch (SpanLimits.Exceeded exc) {
      counters.dropped("too-large", exc.getMessage());
      return;
    } catch (Exception | StackOverflowError exc) {
      counters.dropped("encode-error", exc.toString());
      return;
    }
    int keyBytes = encoded.key() == null ? 0 : encoded.key().length;
    int size = encoded.value().length + keyBytes + headerBytes + RECORD_OVERHEAD_BYTES;
    if (size > maxRecordBytes) {
      counters.dropped("too-large", size + " bytes, over " + maxRecordBytes);
      return;
    }
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(settings.topic(), null, encoded.key(), encoded.value(), headers);
    try {
      producer.send(record, (metadata, exc) -> settle(exc));
    } catch (RuntimeException exc) {
      settle(exc);
    }
  }

  private void settle(Exception exc) {
    if (exc == null) {
      counters.delivered();
    } else if (exc instanceof RecordTooLargeException) {
      counters.dropped("too-large", exc.getMessage());
    } else if (closing && stopping) {
      counters.dropped("closed", "abandoned when the producer closed");
    } else {
      counters.failed(exc);
    }
  }

  private void drainAs(String reason) {
    T item;
    while ((item = queue.poll()) != null) {
      counters.dropped(reason, "the reporter has no producer");
    }
  }
}
