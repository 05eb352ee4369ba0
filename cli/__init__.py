"""The ``spanstream`` command (typer + rich): ``spanstream broker start|stop|status``, ``demo``."""

from spanstream.cli._app import app, main

__all__ = ["app", "main"]
