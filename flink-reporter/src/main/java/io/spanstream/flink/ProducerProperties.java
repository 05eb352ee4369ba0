package io.spanstream.flink;

import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Kafka producer's properties: the Python reporter's defaults (acks=all, idempotence, lz4,
 * linger 5 ms), the queue and record limits, then every {@code producer.<property>} given.
 *
 * <p>The {@code producer.*} keys are the Kafka Java client's. Three librdkafka spellings that the
 * Python reporter's users write are translated so one configuration serves both:
 * {@code ssl.ca.location} (a PEM file) becomes a PEM trust store, and {@code sasl.username} with
 * {@code sasl.password} become {@code sasl.jaas.config} for the {@code sasl.mechanism} given.
 * Class names under {@code org.apache.kafka.} in values are moved to the shaded package.
 */
final class ProducerProperties {
  private static final String[] SECRET_MARKERS = {
    "password", "secret", "jaas", "oauthbearer.config", "key.pem", "token", "credential"
  };
  // Built at run time so that the shade plugin does not relocate the text itself.
  private static final String KAFKA_PACKAGE = String.join(".", "org", "apache", "kafka") + ".";
  private static final String SHADED_KAFKA_PACKAGE =
      ProducerConfig.class.getName().substring(
              0, ProducerConfig.class.getName().length() - "clients.producer.ProducerConfig".length());
  private static final int RECORD_OVERHEAD_BYTES = 65_536;

  private ProducerProperties() {}

  /** Whether a key holds a credential whose value must never be shown. */
  static boolean isSecretKey(String key) {
    String lowered = key.toLowerCase(Locale.ROOT);
    for (String marker : SECRET_MARKERS) {
      if (lowered.contains(marker)) {
        return true;
      }
    }
    return false;
  }

  static Properties of(ReporterSettings settings, String clientId) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(settings.queueMaxBytes()));
    props.put(
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        Integer.toString(settings.recordMaxBytes() + RECORD_OVERHEAD_BYTES));
    Map<String, String> given = settings.producer();
    for (Map.Entry<String, String> entry : given.entrySet()) {
      String key = entry.getKey();
      if (key.equals("bootstrap.servers")
          || key.equals("sasl.username")
          || key.equals("sasl.password")
          || key.equals("ssl.ca.location")) {
        continue;
      }
      props.put(key, shadedClassNames(entry.getValue()));
    }
    if (given.containsKey("ssl.ca.location") && !given.containsKey("ssl.truststore.location")) {
      props.put("ssl.truststore.type", "PEM");
      props.put("ssl.truststore.location", given.get("ssl.ca.location"));
    }
    if (given.containsKey("sasl.username") && !given.containsKey("sasl.jaas.config")) {
      String mechanism = given.getOrDefault("sasl.mechanism", "PLAIN").toUpperCase(Locale.ROOT);
      String module =
          mechanism.startsWith("SCRAM")
              ? SHADED_KAFKA_PACKAGE + "common.security.scram.ScramLoginModule"
              : SHADED_KAFKA_PACKAGE + "common.security.plain.PlainLoginModule";
      props.put(
          "sasl.jaas.config",
          module + " required username=\"" + quoted(given.get("sasl.username"))
              + "\" password=\"" + quoted(given.getOrDefault("sasl.password", "")) + "\";");
    }
    // The client's own classes, never names to look up through a class loader.
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return props;
  }

  static String shadedClassNames(String value) {
    if (SHADED_KAFKA_PACKAGE.equals(KAFKA_PACKAGE) || !value.contains(KAFKA_PACKAGE)) {
      return value; // unshaded (the unit tests) or nothing to move
    }
    return value.replace(SHADED_KAFKA_PACKAGE, "\u0000").replace(KAFKA_PACKAGE, SHADED_KAFKA_PACKAGE)
        .replace("\u0000", SHADED_KAFKA_PACKAGE);
  }

  private static String quoted(String text) {
    return text.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
