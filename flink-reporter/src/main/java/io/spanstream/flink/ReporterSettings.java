package io.spanstream.flink;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A reporter's settings: the Python Kafka reporter's keys, read as Flink passes them (every
 * {@code traces.reporter.<name>.*} or {@code events.reporter.<name>.*} key, prefix removed).
 *
 * <p>Nothing here throws: a bad value gives a warning that names the key, the value and what is
 * accepted, and the default is used; an unknown key gives a warning naming it. A reporter with no
 * {@code bootstrap.servers} is not configured (its items are dropped and counted).
 */
record ReporterSettings(
    String bootstrapServers,
    String topic,
    KeyStrategy key,
    List<String> headers,
    Map<String, String> additionalHeaders,
    int queueMaxItems,
    long queueMaxBytes,
    boolean dropOldest,
    int recordMaxBytes,
    SpanLimits limits,
    boolean topicCreate,
    int topicPartitions,
    short topicReplicationFactor,
    double flushTimeoutS,
    double closeTimeoutS,
    Map<String, String> producer,
    List<String> warnings) {

  /** Default topic of the trace reporter. */
  static final String TRACES_TOPIC = "flink-traces";

  /** Default topic of the event reporter. */
  static final String EVENTS_TOPIC = "flink-events";

  /** The header names of the {@code headers} key, all on by default. */
  static final List<String> HEADER_NAMES = List.of("content-type", "schema-fingerprint", "producer");

  private static final Set<String> KEYS =
      Set.of(
          "bootstrap.servers",
          "topic",
          "key",
          "headers",
          "headers.additional",
          "queue.max.spans",
          "queue.max.bytes",
          "queue.overflow.policy",
          "record.max.bytes",
          "span.max.depth",
          "span.max.children",
          "span.max.attribute.value.bytes",
          "topic.create",
          "topic.partitions",
          "topic.replication.factor",
          "open.timeout.s",
          "flush.timeout.s",
          "close.timeout.s");

  private static final Pattern TOPIC_NAME = Pattern.compile("[A-Za-z0-9._-]{1,249}");
  private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,255}");

  /** Whether Flink itself reads this per-reporter key (the reporter ignores it). */
  static boolean isFlinkKey(String key) {
    return key.equals("factory.class")
        || key.equals("class")
        || key.startsWith("scope.")
        || key.startsWith("filter.");
  }

  boolean configured() {
    return !bootstrapServers.isEmpty();
  }

  /**
   * Read the settings.
   *
   * @param properties the reporter's keys without the prefix
   * @param prefix the prefix, to name full keys in warnings ({@code traces.reporter.kafka.})
   * @param defaultTopic {@link #TRACES_TOPIC} or {@link #EVENTS_TOPIC}
   */
  static ReporterSettings parse(Properties properties, String prefix, String defaultTopic) {
    Reader in = new Reader(properties, prefix);
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      if (!KEYS.contains(key) && !isFlinkKey(key) && !key.startsWith("producer.")) {
        in.warnings.add(
            "unknown key " + prefix + key + " is ignored (see the README's Kafka reporter keys)");
      }
    }
    String servers = in.text("bootstrap.servers", "");
    if (servers.isEmpty()) {
      servers = in.text("producer.bootstrap.servers", "");
      if (servers.isEmpty()) {
        in.warnings.add(
            prefix + "bootstrap.servers is missing: a comma-separated list of host:port is"
                + " required; the reporter drops everything it is given");
      }
    }
    String topic = in.text("topic", defaultTopic);
    if (!TOPIC_NAME.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
      in.bad("topic", topic, "a Kafka topic name: 1 to 249 of letters, digits, '.', '_' and '-'",
          defaultTopic);
      topic = defaultTopic;
    }
    KeyStrategy key = KeyStrategy.parse(in.text("key", "job-id"));
    if (key == null) {
      in.bad("key", in.text("key", ""), "one of job-id, trace-id, attribute:<name>, none",
          "job-id");
      key = KeyStrategy.parse("job-id");
    }
    int depth = in.integer("span.max.depth", SpanLimits.MAX_DEPTH, 1, SpanLimits.MAX_DEPTH);
    int children = in.integer("span.max.children", 0, 0, Integer.MAX_VALUE);
    int valueBytes = in.integer("span.max.attribute.value.bytes", 0, 0, Integer.MAX_VALUE);
    String overflow = in.text("queue.overflow.policy", "drop-newest").toLowerCase(Locale.ROOT);
    if (!overflow.equals("drop-newest") && !overflow.equals("drop-oldest")) {
      in.bad("queue.overflow.policy", overflow, "drop-newest or drop-oldest", "drop-newest");
      overflow = "drop-newest";
    }
    int replication = in.integer("topic.replication.factor", -1, -1, Short.MAX_VALUE);
    if (replication == 0) {
      in.bad("topic.replication.factor", "0",
          "-1 (the broker's default.replication.factor) or at least 1", "-1");
      replication = -1;
    }
    in.decimal("open.timeout.s", 5.0); // read for its check only: open() never waits here
    return new ReporterSettings(
        servers,
        topic,
        key,
        headers(in),
        additionalHeaders(in),
        in.integer("queue.max.spans", 100_000, 1, Integer.MAX_VALUE),
        in.longInteger("queue.max.bytes", 64L * 1024 * 1024, 1024, 1L << 41),
        overflow.equals("drop-oldest"),
        in.integer("record.max.bytes", 1_000_000, 1024, Integer.MAX_VALUE - 65_536),
        new SpanLimits(depth, children, valueBytes),
        in.bool("topic.create", true),
        in.integer("topic.partitions", 3, 1, 1_000_000),
        (short) replication,
        in.decimal("flush.timeout.s", 30.0),
        in.decimal("close.timeout.s", 10.0),
        producerProperties(properties),
        List.copyOf(in.warnings));
  }

  private static List<String> headers(Reader in) {
    String text = in.text("headers", String.join(",", HEADER_NAMES));
    if (text.equalsIgnoreCase("none") || text.isEmpty()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String part : text.split(",")) {
      String name = part.strip().toLowerCase(Locale.ROOT);
      if (name.isEmpty()) {
        continue;
      }
      if (!HEADER_NAMES.contains(name)) {
        in.bad("headers", text, "'none' or a comma-separated list of "
            + String.join(", ", HEADER_NAMES), String.join(",", HEADER_NAMES));
        return HEADER_NAMES;
      }
      if (!names.contains(name)) {
        names.add(name);
      }
    }
    return List.copyOf(names);
  }

  private static Map<String, String> additionalHeaders(Reader in) {
    String text = in.text("headers.additional", "");
    Map<String, String> pairs = new LinkedHashMap<>();
    if (text.isEmpty()) {
      return pairs;
    }
    for (String part : text.split(",")) {
      int colon = part.indexOf(':');
      String name = colon < 0 ? "" : part.substring(0, colon).strip();
      if (colon < 0 || !HEADER_NAME.matcher(name).matches()) {
        in.bad("headers.additional", text,
            "a comma-separated list of name:value (names of letters, digits, '.', '_', '-')",
            "none");
        return new LinkedHashMap<>();
      }
      pairs.put(name, part.substring(colon + 1).strip());
    }
    return pairs;
  }

  private static Map<String, String> producerProperties(Properties properties) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      if (key.startsWith("producer.") && key.length() > "producer.".length()) {
        out.put(key.substring("producer.".length()), properties.getProperty(key));
      }
    }
    return out;
  }

  /** Typed reads that never throw: a bad value is a warning and the default. */
  private static final class Reader {
    final Properties properties;
    final String prefix;
    final List<String> warnings = new ArrayList<>();

    Reader(Properties properties, String prefix) {
      this.properties = properties;
      this.prefix = prefix;
    }

    String text(String key, String fallback) {
      Object value = properties.get(key);
      if (value == null) {
        value = properties.getProperty(key);
      }
      return value == null ? fallback : value.toString().strip();
    }

    void bad(String key, Object value, String accepted, String used) {
      String shown = ProducerProperties.isSecretKey(key) ? "***" : String.valueOf(value);
      warnings.add(prefix + key + "=" + shown + " is not accepted: " + accepted
          + "; using " + used);
    }

    long longInteger(String key, long fallback, long min, long max) {
      String value = text(key, null);
      if (value == null) {
        return fallback;
      }
      try {
        long parsed = Long.parseLong(value.replace("_", ""));
        if (parsed >= min && parsed <= max) {
          return parsed;
        }
      } catch (NumberFormatException exc) {
        // reported below
      }
      bad(key, value, "an integer from " + min + " to " + max, String.valueOf(fallback));
      return fallback;
    }

    int integer(String key, int fallback, int min, int max) {
      return (int) longInteger(key, fallback, min, max);
    }

    double decimal(String key, double fallback) {
      String value = text(key, null);
      if (value == null) {
        return fallback;
      }
      try {
        double parsed = Double.parseDouble(value);
        if (parsed >= 0 && parsed <= 86_400 && !Double.isNaN(parsed)) {
          return parsed;
        }
      } catch (NumberFormatException exc) {
        // reported below
      }
      bad(key, value, "a number of seconds from 0 to 86400", String.valueOf(fallback));
      return fallback;
    }

    boolean bool(String key, boolean fallback) {
      String value = text(key, null);
      if (value == null) {
        return fallback;
      }
      switch (value.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on", "1":
          return true;
        case "false", "no", "off", "0":
          return false;
        default:
          bad(key, value, "true or false", String.valueOf(fallback));
          return fallback;
      }
    }
  }
}
