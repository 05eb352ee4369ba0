package io.spanstream.flink.proof;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.plugin.PluginManager;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Flink 2.3 streaming job on a local MiniCluster whose trace and event reporters are
 * spanstream's plugin, loaded the way a Flink cluster loads it: from the plugins directory
 * ({@code FLINK_PLUGINS_DIR}), configured only by Flink keys in {@code config.yaml}.
 *
 * <p>A bounded, rate-limited source feeds a keyed, stateful map; checkpoints every 200 ms; the
 * map fails once after the first completed checkpoint, and the job restores from a checkpoint
 * and runs to the end.
 *
 * <p>Two more trace reporters of the same plugin must not hurt the job: {@code down} points at a
 * loopback port where no broker listens, with a bad value and an unknown key; {@code small}
 * writes to {@code <traces topic>-small} with a 1 KiB record limit, so checkpoint spans are too
 * large for it.
 *
 * <p>Arguments: {@code <conf dir> <job name>}: the directory's {@code config.yaml} configures
 * the {@code kafka} trace and event reporters (the README's example, with the test's address and
 * topics), and {@code traces.checkpoint.span-detail-level}.
 */
public final class CheckpointingJob {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointingJob.class);
  private static final int PARALLELISM = 2;
  private static final long RECORDS = 1_200;
  private static final double RECORDS_PER_SECOND = 150;

  private CheckpointingJob() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: CheckpointingJob <conf dir with config.yaml> <job name>");
      System.exit(2);
    }
    if (CheckpointingJob.class.getClassLoader()
        .getResource("io/spanstream/flink/KafkaTraceReporterFactory.class") != null) {
      System.err.println("the plugin is on the job's classpath: the proof needs it in plugins/");
      System.exit(3);
    }
    // The reporters' keys come from config.yaml, as in a Flink cluster's conf/ directory.
    Configuration config = GlobalConfiguration.loadConfiguration(args[0]);
    String bootstrap = config.getString("traces.reporter.kafka.bootstrap.servers", "");
    String tracesTopic = config.getString("traces.reporter.kafka.topic", "flink-traces");
    config.setString("traces.reporter.down.factory.class",
        "io.spanstream.flink.KafkaTraceReporterFactory");
    config.setString("traces.reporter.down.bootstrap.servers", "127.0.0.1:1");
    config.setString("traces.reporter.down.queue.max.spans", "lots");
    config.setString("traces.reporter.down.no.such.key", "x");
    config.setString("traces.reporter.down.topic", tracesTopic + "-down");
    config.setString("traces.reporter.down.close.timeout.s", "1");
    config.setString("traces.reporter.small.factory.class",
        "io.spanstream.flink.KafkaTraceReporterFactory");
    config.setString("traces.reporter.small.bootstrap.servers", bootstrap);
    config.setString("traces.reporter.small.topic", tracesTopic + "-small");
    config.setString("traces.reporter.small.record.max.bytes", "1024");
    config.setString("execution.checkpointing.interval", "200 ms");
    config.setString("restart-strategy.type", "fixed-delay");
    config.setString("restart-strategy.fixed-delay.attempts", "3");
    config.setString("restart-strategy.fixed-delay.delay", "200 ms");
    config.setString("rest.bind-port", "0");
    config.setString("rest.port", "0");
    config.setString("taskmanager.numberOfTaskSlots", Integer.toString(PARALLELISM));

    // What a Flink cluster's entry point does: plugins from FLINK_PLUGINS_DIR (else ./plugins).
    PluginManager plugins = PluginUtils.createPluginManagerFromRootFolder(config);
    MiniClusterConfiguration clusterConfig =
        new MiniClusterConfiguration.Builder()
            .setConfiguration(config)
            .setNumTaskManagers(1)
            .setNumSlotsPerTaskManager(PARALLELISM)
            .setPluginManager(plugins)
            .build();
    try (MiniCluster cluster = new MiniCluster(clusterConfig)) {
      cluster.start();
      StreamExecutionEnvironment env = new TestStreamEnvironment(cluster, PARALLELISM);
      env.enableCheckpointing(200);
      DataGeneratorSource<Long> source =
          new DataGeneratorSource<>(
              index -> index,
              RECORDS,
              RateLimiterStrategy.perSecond(RECORDS_PER_SECOND),
              Types.LONG);
      DataStream<Long> numbers =
          env.fromSource(source, WatermarkStrategy.noWatermarks(), "numbers");
      numbers
          .keyBy(n -> n % 8)
          .map(new FailOnceAfterACheckpoint())
          .sinkTo(new DiscardingSink<>());
      env.execute(args[1]);
      LOG.info("proof job finished");
    }
  }

  /** Counts per key in state; its first attempt fails once a checkpoint has completed. */
  static final class FailOnceAfterACheckpoint extends RichMapFunction<Long, Long>
      implements CheckpointListener {
    private static final long serialVersionUID = 1L;
    private transient ValueState<Long> count;
    private transient volatile boolean checkpointDone;

    @Override
    public void open(OpenContext context) {
      count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    }

    @Override
    public Long map(Long value) throws Exception {
      if (checkpointDone
          && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0
          && getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
        throw new IllegalStateException("deliberate failure of the spanstream proof job");
      }
      long next = (count.value() == null ? 0 : count.value()) + 1;
      count.update(next);
      return next;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
      checkpointDone = true;
    }
  }

}
