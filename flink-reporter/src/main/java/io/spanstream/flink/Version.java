package io.spanstream.flink;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The plugin's version, from the build (kept equal to spanstream's Python version). */
final class Version {
  /** {@code 0.1.0}, or {@code 0+unknown} outside a build. */
  static final String VERSION = read();

  private Version() {}

  private static String read() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      Properties props = new Properties();
      if (in != null) {
        props.load(in);
      }
      String version = props.getProperty("version", "");
      return version.isEmpty() || version.startsWith("$") ? "0+unknown" : version;
    } catch (IOException exc) {
      return "0+unknown";
    }
  }
}
