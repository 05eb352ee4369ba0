package io.spanstream.flink;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Makes sure the topic exists before the first record (creating it with {@code topic.partitions}
 * and {@code topic.replication.factor} when {@code topic.create} is on) and reads its
 * {@code max.message.bytes}. Runs on the sender thread only: Flink's threads never wait for it.
 */
final class TopicCheck {
  /** Thrown when the topic is missing and the reporter may not create it. */
  static final class Missing extends Exception {
    private static final long serialVersionUID = 1L;

    Missing(String topic) {
      super("topic " + topic + " does not exist and topic.create is false");
    }
  }

  private static final String[] ADMIN_PREFIXES = {
    "bootstrap.servers", "client.id", "security.protocol", "ssl.", "sasl.", "socket.",
    "reconnect.", "metadata.", "connections.max.idle.ms", "client.dns.lookup", "request.timeout.ms",
    "retry.backoff."
  };

  private TopicCheck() {}

  static Properties adminProperties(Properties producer) {
    Properties admin = new Properties();
    for (String key : producer.stringPropertyNames()) {
      for (String prefix : ADMIN_PREFIXES) {
        if (key.startsWith(prefix)) {
          admin.put(key, producer.get(key));
        }
      }
    }
    // A broker that is down: fewer reconnection lines in Flink's log.
    admin.putIfAbsent("reconnect.backoff.max.ms", "10000");
    // Kafka 4's default (rebootstrap) logs a line per attempt while the broker is down.
    admin.putIfAbsent("metadata.recovery.strategy", "none");
    return admin;
  }

  /**
   * The topic's {@code max.message.bytes}, after creating the topic if it is missing.
   *
   * @throws Missing the topic does not exist and {@code topic.create} is false
   * @throws Exception the broker did not answer within {@code timeoutMillis}, or refused
   */
  static int ensure(Admin admin, ReporterSettings settings, long timeoutMillis) throws Exception {
    String topic = settings.topic();
    try {
      admin.describeTopics(List.of(topic)).allTopicNames().get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException exc) {
      if (!(exc.getCause() instanceof UnknownTopicOrPartitionException)) {
        throw exc;
      }
      if (!settings.topicCreate()) {
        throw new Missing(topic);
      }
      Optional<Short> replication =
          settings.topicReplicationFactor() < 0
              ? Optional.empty()
              : Optional.of(settings.topicReplicationFactor());
      try {
        admin
            .createTopics(
                List.of(new NewTopic(topic, Optional.of(settings.topicPartitions()), replication)))
            .all()
            .get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (ExecutionException created) {
        if (!(created.getCause() instanceof TopicExistsException)) {
          throw created;
        }
      }
    }
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    Map<ConfigResource, Config> configs =
        admin.describeConfigs(List.of(resource)).all().get(timeoutMillis, TimeUnit.MILLISECONDS);
    ConfigEntry entry = configs.get(resource).get("max.message.bytes");
    return entry == null || entry.value() == null
        ? Integer.MAX_VALUE
        : Integer.parseInt(entry.value());
  }
}
