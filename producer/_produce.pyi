"""Type stub of the Kafka sender's optional C produce loop (``producer/_produce.c``)."""

from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

class RecordProducer:
    """The sender's produce loop for one confluent_kafka.Producer, one topic and fixed headers."""

    def __init__(
        self,
        producer: Producer,
        library_path: str,
        client_id: str,
        topic: str,
        headers: list[tuple[str, bytes]],
        on_delivery: Callable[..., None],
        /,
    ) -> None:
        """Take the producer's librdkafka handle; raise OSError or ValueError if unusable."""

    def send(
        self,
        items: list[Any],
        start: int,
        encode: Callable[[Any], bytes],
        key_of: Callable[[Any], bytes | None],
        too_large: Callable[[Any], bool] | None,
        max_bytes: int,
        fixed_bytes: int,
        /,
    ) -> tuple[int, int, int]:
        """Produce items[start:] until one needs the Python loop: (its index, records, bytes)."""

    @property
    def runs(self) -> int:
        """Runs produced with the interpreter lock released."""

    @property
    def produced(self) -> int:
        """Records this loop handed to librdkafka."""

def set_release_lock(release: bool, /) -> bool:
    """Call librdkafka with the interpreter lock released (the default) or held; the previous."""
