"""How a command ends: library errors become one clear message and a documented exit
code, signals end the run cleanly, and gate commands report usage errors in their --format."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from labelprep import interrupts
from labelprep.cli.display import verbosity_options, watching
from labelprep.cli.render import print_error_line
from labelprep.console import safe
from labelprep.errors import (
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_USAGE,
    LabelprepError,
    os_error_message,
)


class Group(click.Group):
    """Turns library errors into one clear message and a documented exit code: 2 for a
    usage, input or operating-system error, 130 / 143 when SIGINT / SIGTERM stopped the
    run (its partial outputs removed), 3 with the traceback for a bug only."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        handlers = interrupts.install()
        try:
            return super().main(*args, **kwargs)
        finally:
            interrupts.restore(handlers)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Every command also takes -q/--quiet and -v/--verbose (as the group does)."""
        names = {param.name for param in cmd.params}
        if not {"quiet", "verbose"} & names:
            cmd.params.extend(verbosity_options(click.command()(lambda: None)).params)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with watching(ctx):  # the progress line, and the stage times with -v
                return super().invoke(ctx)
        except LabelprepError as exc:
            print_error_line(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # Interrupted (SIGINT, SIGTERM) or a bare Ctrl-C
            name = signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
            click.echo(f"labelprep: stopped by {name}; nothing was written.", err=True)
            exit_now(getattr(exc, "exit_code", EXIT_SIGINT))
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.UsageError as exc:  # it quotes what was typed: rendered safe
            raise click.UsageError(safe(exc.format_message()), ctx=exc.ctx) from exc
        except click.ClickException:
            raise
        except OSError as exc:  # one the library did not name: still not a bug
            print_error_line(os_error_message(exc, writing=None))
            ctx.exit(EXIT_USAGE)
        except Exception:
            lines = traceback.format_exc().splitlines()  # values in it come from the data
            click.echo("\n".join(safe(line) for line in lines), err=True)
            click.echo(
                "Internal error: this is a bug in labelprep; please report it "
                "with the traceback above.",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def exit_now(code: int) -> None:
    """Exit without waiting for a Polars query the interruption abandoned (the staging
    directory is already removed): a native thread still running while the interpreter
    shuts down can abort the process. The exit handlers still run."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # a second signal does not cut the exit short
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class GateCommand(click.Command):
    """A gate command: usage errors (bad option values) also come out in its --format."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)  # the parser consumes args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            from labelprep.gate import format_error

            error = click.UsageError(safe(exc.format_message()), ctx=exc.ctx)
            text = format_error(format_in(raw), self.name or "labelprep", error, exc.exit_code)
            if text is not None:
                click.echo(text)
            raise error from exc


def format_in(args: Sequence[str]) -> str:
    """The value of the last --format in raw arguments ("text" when absent)."""
    fmt = "text"
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            fmt = args[i + 1]
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
    return fmt
