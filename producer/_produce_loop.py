"""The Kafka sender's produce loop: a batch of items becomes records in librdkafka.

Each item is encoded, keyed and checked against the record size the topic accepts (and a
limit of the user's, if any), then handed to librdkafka. Where it can (``_fast_produce``), a C
loop (``producer/_produce.c``) does the plain items and calls librdkafka with the interpreter
lock released; it stops at any other item, which :meth:`ProduceLoop.send_items`, the Python
reference, handles exactly as it handles every item when the C loop is not used: a refused
encode is dropped ``encode-error``, a record too large ``too-large``, librdkafka's full queue is
waited on (backpressure), any other error counted ``failed``. Then the C loop goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Generic, TypeVar

from confluent_kafka import KafkaError, KafkaException, Producer

from spanstream.producer._fast_produce import RecordProducer, record_producer
from spanstream.producer._sender_counters import SenderCounters

__all__ = ["RECORD_OVERHEAD_BYTES", "ProduceLoop"]

T = TypeVar("T")

Headers = list[tuple[str, str | bytes | None]]

RECORD_OVERHEAD_BYTES: Final = 256
"""What a record costs on the wire beyond its key, value and header bytes (the record batch
header, the record's varints): a margin for the size check against the topic's limit."""
_BACKPRESSURE_POLL_S: Final = 0.02


def _unset(item: object) -> bytes:
    raise TypeError(f"the sender was not opened: nothing encodes {item!r}")


class ProduceLoop(Generic[T]):
    """Turns the sender's batches into records in librdkafka, counting every item's outcome.

    Args:
        counters: the sender's counters (this loop runs on the sender thread, their writer).
        drop: counts and logs a drop of one item by reason.
        stopping: whether the sender is stopping (then a full librdkafka queue drops the rest
            of the batch ``closed`` instead of waiting).
    """

    def __init__(
        self,
        counters: SenderCounters,
        drop: Callable[[str], None],
        stopping: Callable[[], bool],
    ) -> None:
        self._counters = counters
        self._drop = drop
        self._stopping = stopping
        self.topic = ""
        self.encode: Callable[[T], bytes] = _unset
        self.key_of: Callable[[T], bytes | None] = _unset
        self.too_large: Callable[[T], bool] | None = None
        self._header_pairs: list[tuple[str, bytes]] = []
        self._headers: Headers | None = None
        self.fixed_record_bytes = RECORD_OVERHEAD_BYTES
        self.max_record_bytes = 0
        self._fast: RecordProducer | None = None
        self._fast_produced = 0

    def configure(
        self,
        *,
        topic: str,
        encode: Callable[[T], bytes],
        key_of: Callable[[T], bytes | None],
        headers: list[tuple[str, bytes]],
        too_large: Callable[[T], bool] | None,
        max_record_bytes: int,
    ) -> None:
        """Set what makes an item's record (see ``KafkaSender.open``)."""
        self.topic = topic
        self.encode = encode
        self.key_of = key_of
        self.too_large = too_large
        self._header_pairs = list(headers)
        self._headers = list(headers) or None
        self.fixed_record_bytes = RECORD_OVERHEAD_BYTES + sum(
            len(name) + len(value) + 8 for name, value in headers
        )
        self.max_record_bytes = max_record_bytes

    @property
    def fast_produced(self) -> int:
        """Records the C loop handed to librdkafka (0 when the Python loop runs)."""
        fast = self._fast
        return self._fast_produced + (fast.produced if fast is not None else 0)

    def start(
        self, producer: Producer, *, client_id: str, on_delivery: Callable[..., None]
    ) -> None:
        """Use the C loop with ``producer`` from now on, where it can run (``_fast_produce``)."""
        self.let_go()
        self._fast = record_producer(
            producer,
            client_id=client_id,
            topic=self.topic,
            headers=self._header_pairs,
            on_delivery=on_delivery,
        )

    def let_go(self) -> None:
        """Drop the C loop (it holds the producer); its count is kept for ``fast_produced``."""
        fast = self._fast
        if fast is not None:
            self._fast_produced += fast.produced
            self._fast = None

    def send(self, batch: list[T], producer: Producer) -> None:
        """Encode and produce a batch; every item ends counted or in librdkafka.

        The C loop produces the plain items; each item it stops at goes through the Python
        loop (the reference), and the C loop goes on after it.
        """
        fast = self._fast
        if fast is None:
            self.send_items(batch, 0, len(batch), producer)
            return
        counters = self._counters
        end = len(batch)
        index = 0
        while index < end:
            index, produced, produced_bytes = fast.send(
                batch,
                index,
                self.encode,
                self.key_of,
                self.too_large,
                self.max_record_bytes,
                self.fixed_record_bytes,
            )
            counters.produced += produced
            counters.produced_bytes += produced_bytes
            if index < end:
                if not self.send_items(batch, index, index + 1, producer):
                    return
                index += 1

    def send_items(self, batch: list[T], start: int, stop: int, producer: Producer) -> bool:
        """The reference loop over ``batch[start:stop]``; False if stopping dropped the rest."""
        counters = self._counters
        produce = producer.produce
        poll = producer.poll
        topic = self.topic
        headers = self._headers
        encode = self.encode
        key_of = self.key_of
        fixed_bytes = self.fixed_record_bytes
        max_bytes = self.max_record_bytes
        too_large = self.too_large
        produced = produced_bytes = 0
        for index in range(start, stop):
            item = batch[index]
            try:
                value = encode(item)
                key = key_of(item)
            except Exception:  # noqa: BLE001 - an item the codec refuses is dropped and counted
                self._drop("encode-error")
                continue
            # Over the record size, or over a limit of the user's (checked only when one is set).
            if len(value) + (len(key) if key is not None else 0) + fixed_bytes > max_bytes or (
                too_large is not None and too_large(item)
            ):
                self._drop("too-large")
                continue
            while True:
                try:
                    if headers is None:
                        produce(topic, value, key)
                    else:
                        produce(topic, value, key, headers=headers)
                except BufferError:
                    # librdkafka's own queue is full: keep the item and let deliveries drain
                    # it (backpressure); the hand-off queue fills meanwhile.
                    counters.produced += produced
                    counters.produced_bytes += produced_bytes
                    produced = produced_bytes = 0
                    if self._stopping():
                        counters.dropped["closed"] += len(batch) - index
                        return False
                    poll(_BACKPRESSURE_POLL_S)
                    counters.settle(len(producer))
                    continue
                except KafkaException as exc:
                    self._record_produce_error(exc)
                except Exception as exc:  # noqa: BLE001 - counted, never raised
                    counters.failed[type(exc).__name__] += 1
                else:
                    produced += 1
                    produced_bytes += len(value)
                break
        counters.produced += produced
        counters.produced_bytes += produced_bytes
        return True

    def _record_produce_error(self, exc: KafkaException) -> None:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            self._drop("too-large")
            return
        name = error.name() if isinstance(error, KafkaError) else type(exc).__name__
        self._counters.failed[name] += 1
