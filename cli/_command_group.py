"""The ``spanstream`` command group's behaviour: one-line usage errors, and help epilogs."""

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from spanstream.cli._exit import print_error

__all__ = ["OneLineErrors", "examples"]


def examples(*lines: str, note: str = "") -> str:
    """A command's epilog: its examples, one per line (rich help keeps blank-line paragraphs)."""
    text = "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)
    return f"{text}\n\n{note}" if note else text


class OneLineErrors(TyperGroup):
    """The command group: a usage mistake is one ``error:`` line on stderr, not a box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,  # noqa: ANN401 - click's signature
    ) -> Any:  # noqa: ANN401 - click's signature
        """Run the command; usage errors print one line and exit 2 (help for no arguments)."""
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `spanstream`: the help
                exc.show()  # type: ignore[attr-defined]
            else:
                context = getattr(exc, "ctx", None)
                where = context.command_path if context is not None else "spanstream"
                print_error(f"{exc.format_message()} (see: {where} --help)")
            code = exc.exit_code
        except typer.Abort:
            code = 1
        code = code if isinstance(code, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)
