"""A PyFlink job whose Python function reports spans in every form, fails once, and says what
its reporters counted. Run with the PyFlink environment's python:

    report_spans.py BOOTSTRAP TOPIC JOB_ID

After the last record it flushes and reports what the worker's reporters counted as the
attributes of a ``Counts`` span.
"""

import sys

from pyflink.common import Types
from pyflink.datastream import FlatMapFunction, RuntimeContext

from spanstream.producer import (
    flush_pyflink_reporters,
    pyflink_environment,
    pyflink_metric_group,
    pyflink_span_counts,
)
from spanstream.schemas import Span

VALUES = 5
FAIL_AT = 3


class Work(FlatMapFunction):
    def open(self, runtime_context: RuntimeContext):
        self.attempt = runtime_context.get_attempt_number()
        self.spans = pyflink_metric_group(runtime_context)
        self.step = self.spans.traced("jobs.Work", "Step")(self._step)

    def _step(self, value):
        return value + 1

    def flat_map(self, value):
        if value == FAIL_AT and self.attempt == 0:
            # Reported, never flushed by close(): it must still arrive (worker exit flushes).
            self.spans.add_span(Span.builder("jobs.Work", "BeforeFailure"))
            raise RuntimeError("the deliberate failure of attempt 0")
        self.spans.add_span(
            Span.builder("jobs.Work", "Record")
            .set_attribute("value", value)
            .add_child(Span.builder("jobs.Work", "Part").set_attribute("index", 0))
        )
        with self.spans.span("jobs.Work", "Block") as span:
            span.set_attribute("value", value)
        self.step(value)
        if value == VALUES - 1:
            flush_pyflink_reporters(timeout_s=30)
            counts = pyflink_span_counts()
            self.spans.add_span(
                Span.builder("jobs.Work", "Counts")
                .set_attribute("delivered", counts.delivered)
                .set_attribute("dropped", counts.dropped)
                .set_attribute("pending", counts.pending)
            )
        yield value

    def close(self):
        flush_pyflink_reporters(timeout_s=30)


def main(bootstrap, topic, job_id):
    env = pyflink_environment(
        {
            "traces.reporter.kafka.factory.class": "kafka",
            "traces.reporter.kafka.bootstrap.servers": bootstrap,
            "traces.reporter.kafka.topic": topic,
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": "2",
            "restart-strategy.fixed-delay.delay": "200 ms",
        },
        job_name="report-spans",
        job_id=job_id,
    )
    env.set_parallelism(1)
    stream = env.from_collection(list(range(VALUES)), type_info=Types.INT())
    stream.flat_map(Work(), output_type=Types.INT())
    env.execute()


if __name__ == "__main__":
    main(*sys.argv[1:4])
