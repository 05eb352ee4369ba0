"""The ``spanstream`` command."""

__all__ = ["main"]


def main() -> None:
    """Run the ``spanstream`` command."""
    raise SystemExit("spanstream: not implemented yet")
