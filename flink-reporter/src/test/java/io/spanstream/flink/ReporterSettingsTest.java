package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ReporterSettingsTest {
  private static final String PREFIX = "traces.reporter.<name>.";

  private static ReporterSettings parse(Map<String, String> keys) {
    Properties properties = new Properties();
    properties.putAll(keys);
    return ReporterSettings.parse(properties, PREFIX, ReporterSettings.TRACES_TOPIC);
  }

  @Test
  void theDefaultsAreThePythonReporters() {
    ReporterSettings settings = parse(Map.of("bootstrap.servers", "h:9092"));
    assertEquals("flink-traces", settings.topic());
    assertEquals("job-id", settings.key().toString());
    assertEquals(100_000, settings.queueMaxItems());
    assertEquals(1_000_000, settings.recordMaxBytes());
    assertEquals(ReporterSettings.HEADER_NAMES, settings.headers());
    assertEquals(10.0, settings.closeTimeoutS());
    assertEquals(Map.of(), settings.producer());
    assertEquals(java.util.List.of(), settings.warnings());
  }

  @Test
  void flinksOwnPerReporterKeysAreIgnoredSilently() {
    ReporterSettings settings =
        parse(
            Map.of(
                "bootstrap.servers", "h:9092",
                "factory.class", "io.spanstream.flink.KafkaTraceReporterFactory",
                "scope.variables.additional", "region:eu",
                "filter.includes", "*:*"));
    assertEquals(java.util.List.of(), settings.warnings());
  }

  @Test
  void anUnknownKeyIsAWarningNamingIt() {
    ReporterSettings settings = parse(Map.of("bootstrap.servers", "h:9092", "topik", "x"));
    assertEquals(1, settings.warnings().size());
    assertTrue(settings.warnings().get(0).contains(PREFIX + "topik"));
  }

  @Test
  void aBadValueIsAWarningAndTheDefault() {
    ReporterSettings settings =
        parse(Map.of("bootstrap.servers", "h:9092", "queue.max.spans", "lots"));
    assertEquals(100_000, settings.queueMaxItems());
    assertTrue(settings.warnings().get(0).contains(PREFIX + "queue.max.spans=lots"));
    assertTrue(settings.warnings().get(0).contains("an integer from 1"));
  }

  @Test
  void withoutBootstrapServersTheReporterIsNotConfigured() {
    ReporterSettings settings = parse(Map.of());
    assertFalse(settings.configured());
    assertTrue(settings.warnings().get(0).contains("bootstrap.servers is missing"));
  }

  @Test
  void producerKeysPassThroughWithoutTheirPrefix() {
    ReporterSettings settings =
        parse(Map.of("bootstrap.servers", "h:9092", "producer.linger.ms", "20"));
    assertEquals(Map.of("linger.ms", "20"), settings.producer());
    assertEquals("20", ProducerProperties.of(settings, "c").get("linger.ms"));
  }

  @Test
  void librdkafkaCredentialsBecomeAJaasConfig() {
    ReporterSettings settings =
        parse(
            Map.of(
                "bootstrap.servers", "h:9092",
                "producer.sasl.mechanism", "SCRAM-SHA-512",
                "producer.sasl.username", "alice",
                "producer.sasl.password", "s3cret",
                "producer.ssl.ca.location", "/ca.pem"));
    Properties props = ProducerProperties.of(settings, "c");
    String jaas = props.getProperty("sasl.jaas.config");
    assertTrue(jaas.contains("ScramLoginModule required username=\"alice\" password=\"s3cret\""));
    assertEquals("PEM", props.getProperty("ssl.truststore.type"));
    assertFalse(props.containsKey("sasl.password"));
  }
}
