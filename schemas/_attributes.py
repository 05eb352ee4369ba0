"""What spans and events share: attribute values, timestamps, scopes, the builders' common face."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Self

from spanstream.schemas._errors import SpanTypeError, SpanValueError

__all__ = [
    "ATTRIBUTE_TYPES",
    "LONG_MAX",
    "LONG_MIN",
    "AttributeValue",
    "NamedBuilder",
    "attributes_text",
    "check_ts",
    "now_millis",
    "reject_attribute",
    "same_attributes",
    "same_fields",
    "scope_name",
]

AttributeValue = str | int | float | bool
"""What an attribute can hold: Flink's String, Long and Double, and (Flink 2.1) boolean."""

# Exact types, not isinstance: a subclass (an IntEnum, a numpy scalar) would not survive the
# wire as itself, and bool must stay bool rather than pass as int.
ATTRIBUTE_TYPES: Final = frozenset({str, int, float, bool})
"""The exact types an attribute value may have."""
LONG_MIN: Final = -(2**63)
"""The smallest value of Avro's long (a signed 64-bit integer)."""
LONG_MAX: Final = 2**63 - 1
"""The largest value of Avro's long."""


def scope_name(scope: type | str) -> str:
    """Return the scope string for a class (its module-qualified name) or a string.

    Flink uses the class's canonical name; the Python counterpart is ``module.QualName``.

    >>> scope_name(dict)
    'builtins.dict'
    """
    if type(scope) is str:
        return scope
    if isinstance(scope, type):
        return f"{scope.__module__}.{scope.__qualname__}"
    raise SpanTypeError(f"scope must be a class or a str, not {type(scope).__name__}: {scope!r}")


def now_millis() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def check_ts(which: str, ts_millis: object) -> int:
    """Return ``ts_millis`` if it is an int of epoch milliseconds within Avro's long.

    Raises:
        SpanTypeError: it is not an int.
        SpanValueError: it is outside the signed 64-bit range.
    """
    if type(ts_millis) is not int:
        raise SpanTypeError(
            f"{which} must be an int of epoch milliseconds, not {type(ts_millis).__name__}: "
            f"{ts_millis!r}"
        )
    if not LONG_MIN <= ts_millis <= LONG_MAX:
        raise SpanValueError(
            f"{which} {ts_millis} is outside the signed 64-bit range of Avro's long"
        )
    return ts_millis


def reject_attribute(key: object, value: object) -> None:
    """Raise the error for an attribute whose key or value is of a type not accepted.

    Raises:
        SpanTypeError: always, naming the key and the type.
    """
    if type(key) is not str:
        raise SpanTypeError(
            f"attribute keys must be str, not {type(key).__name__}: {key!r} "
            f"(value {type(value).__name__})"
        )
    raise SpanTypeError(
        f"attribute {key!r}: values must be str, int, float or bool, not {type(value).__name__}"
    )


def _typed(value: AttributeValue) -> tuple[type, object]:
    # NaN is not equal to itself; two spans that both carry NaN are still the same span.
    if type(value) is float and math.isnan(value):
        return (float, "NaN")
    return (type(value), value)


def same_attributes(a: Mapping[str, AttributeValue], b: Mapping[str, AttributeValue]) -> bool:
    """Whether two attribute mappings are equal, type for type (True is not 1; NaN equals NaN)."""
    if len(a) != len(b):
        return False
    return all(key in b and _typed(value) == _typed(b[key]) for key, value in a.items())


def same_fields(a: object, b: object, names: tuple[str, ...]) -> bool:
    """Whether ``a`` and ``b`` are equal field for field, in the order of ``names``.

    ``attributes`` compare as by :func:`same_attributes`, every other field by ``==``.
    """
    for name in names:
        if name == "attributes":
            if not same_attributes(a.attributes, b.attributes):  # type: ignore[attr-defined]
                return False
        elif getattr(a, name) != getattr(b, name):
            return False
    return True


def attributes_text(attributes: Mapping[str, AttributeValue]) -> str:
    """The attributes as ``{key=value, ...}`` for a repr."""
    return "{" + ", ".join(f"{k}={v!r}" for k, v in attributes.items()) + "}"


class NamedBuilder:
    """What the span and event builders share: a scope, a name, and checked attributes.

    A subclass declares the slots ``_scope``, ``_name`` and ``_attributes`` itself (the C
    accelerator reads SpanBuilder's own slots).
    """

    __slots__ = ()

    _scope: str
    _name: str
    _attributes: dict[str, AttributeValue]

    @property
    def scope(self) -> str:
        """The scope (a class's module-qualified name, or the string given)."""
        return self._scope

    @property
    def name(self) -> str:
        """The name."""
        return self._name

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        """A read-only view of the attributes set so far."""
        return MappingProxyType(self._attributes)

    def set_attribute(self, key: str, value: AttributeValue) -> Self:
        """Set one attribute; a later value for the same key replaces the earlier one.

        Raises:
            SpanTypeError: the key is not a str, or the value not a str, int, float or bool.
            SpanValueError: an int outside the signed 64-bit range of Avro's long.
        """
        value_type = type(value)
        if type(key) is not str or value_type not in ATTRIBUTE_TYPES:
            reject_attribute(key, value)
        if value_type is int and not LONG_MIN <= value <= LONG_MAX:  # type: ignore[operator]
            raise SpanValueError(
                f"attribute {key!r}: {value} is outside the signed 64-bit range of Avro's long"
            )
        self._attributes[key] = value
        return self

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> Self:
        """Set several attributes at once, each checked as by :meth:`set_attribute`."""
        for key, value in attributes.items():
            self.set_attribute(key, value)
        return self
