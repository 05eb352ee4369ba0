package io.spanstream.flink;

import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a trace and an event reporter share: settings, counters, the sender, the shutdown flush
 * and the lifecycle ({@code open} once; {@code close} once, from Flink or from the shutdown hook).
 *
 * @param <T> what the reporter queues
 */
final class ReporterCore<T> implements ShutdownFlush.Closer {
  private static final Logger LOG = LoggerFactory.getLogger(ReporterCore.class);

  private final String kind;
  private final String defaultTopic;
  private final Contract contract;
  private final String idField;
  private final RecordsFactory<T> records;
  private volatile KafkaSender<T> sender;
  private volatile Counters counters;
  private ReporterSettings settings;
  private boolean closed;

  /** Makes the item-to-record conversion once the settings (limits) and counters are known. */
  interface RecordsFactory<T> {
    RecordEncoder.ToRecord<T> create(RecordParts parts);
  }

  /**
   * A core that writes {@code contract}'s records, keyed by the {@code key} strategy or else by
   * the record's {@code idField}.
   */
  ReporterCore(
      String kind,
      String defaultTopic,
      Contract contract,
      String idField,
      RecordsFactory<T> records) {
    this.kind = kind;
    this.defaultTopic = defaultTopic;
    this.contract = contract;
    this.idField = idField;
    this.records = records;
  }

  /** Read the settings, log their warnings, start the sender. Never throws, never waits. */
  synchronized void open(Properties properties) {
    if (sender != null || closed) {
      return;
    }
    // Flink passes the keys without their prefix and never says the reporter's name.
    String prefix = kind + "s.reporter.<name>.";
    String name = "spanstream Kafka " + kind + " reporter";
    try {
      settings = ReporterSettings.parse(properties, prefix, defaultTopic);
      name += " (topic " + settings.topic() + ")";
      for (String warning : settings.warnings()) {
        LOG.warn("{}: {}", name, warning);
      }
      Counters fresh = new Counters(name);
      counters = fresh;
      KafkaSender<T> created =
          new KafkaSender<>(
              name,
              "spanstream-" + kind + "s-" + settings.topic(),
              settings,
              contract,
              RecordEncoder.of(
                  contract,
                  settings.key(),
                  idField,
                  records.create(new RecordParts(new Ids(), settings.limits(), fresh))),
              fresh);
      if (!settings.configured()) {
        created.disable("not-configured"); // every item is dropped and counted, never queued
      } else {
        created.start();
        ShutdownFlush.register(this);
      }
      sender = created;
    } catch (RuntimeException | LinkageError exc) {
      LOG.error("{} could not start; it reports nothing", name, exc);
    }
  }

  /** Hand an item to the sender; never blocks, never throws. */
  void offer(T item) {
    KafkaSender<T> current = sender;
    if (current != null) {
      current.offer(item);
    }
  }

  /** Count an item that could not even be queued. */
  void rejected(String reason) {
    Counters current = counters;
    if (current != null) {
      current.notified.increment();
      current.rejected(reason);
    }
  }

  ReporterStats snapshot() {
    KafkaSender<T> current = sender;
    return current == null ? new Counters("").snapshot() : current.snapshot();
  }

  long flush(double timeoutS) {
    KafkaSender<T> current = sender;
    return current == null ? 0 : current.flush(timeoutS);
  }

  synchronized long close() {
    KafkaSender<T> current = sender;
    if (closed || current == null) {
      closed = true;
      return 0;
    }
    closed = true;
    ShutdownFlush.unregister(this);
    return current.close(settings.closeTimeoutS());
  }

  @Override
  public void closeAtShutdown() {
    close();
  }

}
