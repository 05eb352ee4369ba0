package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyStrategyTest {
  private static final byte[] ID = {0, 1, (byte) 0xab, (byte) 0xff};

  private static String key(String strategy, Map<String, Object> attributes) {
    byte[] key = KeyStrategy.parse(strategy).key(attributes, ID);
    return key == null ? null : new String(key, StandardCharsets.UTF_8);
  }

  @Test
  void jobIdPrefersTheJobIdVariable() {
    assertEquals("v", key("job-id", Map.of("<job_id>", "v", "jobId", "a")));
  }

  @Test
  void jobIdFallsBackToTheJobIdAttributeThenTheId() {
    assertEquals("a", key("job-id", Map.of("jobId", "a")));
    assertEquals("0001abff", key("job-id", Map.of()));
  }

  @Test
  void attributeStrategyGivesTheValueAsText() {
    assertEquals("42", key("attribute:n", Map.of("n", 42L)));
    assertEquals("0001abff", key("attribute:n", Map.of()));
  }

  @Test
  void noneGivesNoKeyAndTraceIdTheHexId() {
    assertNull(key("none", Map.of("<job_id>", "v")));
    assertEquals("0001abff", key("trace-id", Map.of("<job_id>", "v")));
  }

  @Test
  void anUnknownStrategyIsNotParsed() {
    assertNull(KeyStrategy.parse("attribute:"));
    assertNull(KeyStrategy.parse("random"));
  }
}
