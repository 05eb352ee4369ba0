"""``python -m spanstream.cli``: the same as the ``spanstream`` command."""

from spanstream.cli._app import main

main()
