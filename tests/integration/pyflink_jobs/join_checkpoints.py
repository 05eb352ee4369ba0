import sys
import time

from pyflink.common import Types
from pyflink.datastream import MapFunction

from spanstream.producer import flush_pyflink_reporters, pyflink_environment, pyflink_metric_group


class Slow(MapFunction):
    def open(self, runtime_context):
        self.spans = pyflink_metric_group(runtime_context)

    def map(self, value):
        with self.spans.span("join.Slow", "Slow") as span:
            span.set_attribute("value", value)
            time.sleep(0.1)
        return value

    def close(self):
        flush_pyflink_reporters(timeout_s=30)


bootstrap, topic = sys.argv[1], sys.argv[2]
env = pyflink_environment(
    {
        "traces.reporter.kafka.factory.class": "io.spanstream.flink.KafkaTraceReporterFactory",
        "traces.reporter.kafka.bootstrap.servers": bootstrap,
        "traces.reporter.kafka.topic": topic,
        "execution.checkpointing.interval": "300 ms",
    },
    job_name="join-job",
)
env.set_parallelism(1)
env.from_collection(list(range(40)), type_info=Types.INT()).map(Slow(), output_type=Types.INT())
print("job id", env.execute().get_job_id())
