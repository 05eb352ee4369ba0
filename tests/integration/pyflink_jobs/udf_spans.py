"""A Table API job whose Python scalar UDF reports one span per row. Run with the PyFlink
environment's python:

    udf_spans.py BOOTSTRAP TOPIC JOB_ID
"""

import sys

from pyflink.common import Configuration
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import ScalarFunction, udf

from spanstream.producer import (
    flush_pyflink_reporters,
    pyflink_job_configuration,
    pyflink_metric_group,
)


class Score(ScalarFunction):
    def open(self, function_context):
        self.spans = pyflink_metric_group(function_context)

    def eval(self, x):
        with self.spans.span("udf.Score", "Score") as span:
            span.set_attribute("x", x)
        return x * 10

    def close(self):
        flush_pyflink_reporters(timeout_s=30)


def main(bootstrap, topic, job_id):
    configuration = Configuration()
    settings = pyflink_job_configuration(
        {
            "traces.reporter.kafka.factory.class": "kafka",
            "traces.reporter.kafka.bootstrap.servers": bootstrap,
            "traces.reporter.kafka.topic": topic,
            "parallelism.default": 1,
        },
        job_name="udf-job",
        job_id=job_id,
    )
    for key, value in settings.items():
        configuration.set_string(key, value)
    t_env = TableEnvironment.create(
        EnvironmentSettings.new_instance()
        .in_streaming_mode()
        .with_configuration(configuration)
        .build()
    )
    score = udf(Score(), result_type=DataTypes.BIGINT())
    table = t_env.from_elements([(1,), (2,), (3,)], ["x"])
    with table.select(score(table.x)).execute().collect() as rows:
        print(sorted(row[0] for row in rows))


if __name__ == "__main__":
    main(*sys.argv[1:4])
