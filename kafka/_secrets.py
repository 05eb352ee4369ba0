"""Secret scrubbing: a credential's value never reaches a message, a log line or a ``repr``.

A key is secret when its name says so (``sasl.password``, ``ssl.key.password``,
``sasl.oauthbearer.client.secret``, ``sasl.jaas.config``...). Its value is shown as ``***``, and
any text about to be shown (a librdkafka error, a log line) has the secret values it might
quote replaced first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_config", "safe_cause", "scrub"]

REDACTED: Final = "***"
"""What a secret value is shown as."""

_SECRET_MARKERS: Final = (
    "password",
    "secret",
    "jaas",
    "oauthbearer.config",
    "key.pem",
    "token",
    "credential",
)


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a credential whose value must never be shown."""
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def redact(key: str, value: object) -> object:
    """Return ``value``, or ``"***"`` when ``key`` holds a credential."""
    return REDACTED if is_secret_key(key) else value


def redact_config(config: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``config`` with every secret value replaced by ``"***"``."""
    return {key: redact(key, value) for key, value in config.items()}


def _secret_values(configs: Iterable[Mapping[str, object]]) -> list[str]:
    values = {
        str(value)
        for config in configs
        for key, value in config.items()
        if isinstance(key, str) and is_secret_key(key) and str(value)
    }
    # The longest first, so that a secret containing another is replaced whole.
    return sorted(values, key=len, reverse=True)


def scrub(text: str, *configs: Mapping[str, object]) -> str:
    """Return ``text`` with the value of every secret key of ``configs`` replaced by ``***``."""
    for secret in _secret_values(configs):
        text = text.replace(secret, REDACTED)
    return text


def safe_cause(exc: BaseException, *configs: Mapping[str, object]) -> BaseException | None:
    """``exc`` to chain as a cause, or ``None`` when its text would show a secret of ``configs``.

    A traceback prints the whole cause chain; a cause that quotes a password must not be in it.
    """
    text = " ".join(str(arg) for arg in exc.args) or str(exc)
    return exc if scrub(text, *configs) == text else None
