"""The ``settlekit`` command: a thin shell that parses arguments, calls the library and renders results."""

from __future__ import annotations

import os
import sys

import typer

from settlekit import __version__
from settlekit.cli import (
    build_cmd,
    chain_cmd,
    demo_cmd,
    deploy_cmd,
    doctor_cmd,
    errors_cmd,
    fuzz_cmd,
    help_width,
    watch_cmd,
)
from settlekit.cli.boundary import translate
from settlekit.cli.init_cmd import init
from settlekit.cli.output import emit_error
from settlekit.exceptions import DEBUG_ENV, SettlekitError, UnexpectedError, UsageError

app = typer.Typer(
    name="settlekit",
    help="Safe settlement and liquidation contracts: build, deploy, fuzz and watch them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("doctor")(doctor_cmd.doctor)
app.command("build")(build_cmd.build_command)
app.command("demo")(demo_cmd.demo)
app.command("deploy")(deploy_cmd.deploy)
app.command("verify")(deploy_cmd.verify)
app.command("watch")(watch_cmd.watch)
app.command("events")(watch_cmd.events)
app.command("series")(watch_cmd.series)
app.command("incidents")(watch_cmd.incidents)
app.command("fuzz")(fuzz_cmd.fuzz)
app.command("init")(init)
app.add_typer(chain_cmd.app, name="chain")
app.add_typer(errors_cmd.app, name="errors")


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
    debug: bool = typer.Option(
        False, "--debug", help=f"Show the traceback of an unexpected error (or set {DEBUG_ENV}=1)."
    ),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)
    if debug:
        os.environ[DEBUG_ENV] = "1"


def _debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _usage(error: BaseException) -> UsageError | None:
    """A command-line mistake (unknown option, bad value, missing argument: the parser's ``UsageError``, whose
    module differs between typer versions) as a settlekit usage error; None for any other exception."""
    if isinstance(error, SettlekitError) or not any(
        kind.__name__ == "UsageError" and kind.__module__.endswith("exceptions") for kind in type(error).__mro__
    ):
        return None
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None) or "settlekit"
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else str(error)
    return UsageError(str(message), hint=f"see {command} --help")


def main(argv: list[str] | None = None) -> int:
    """Entry point and the CLI's one error boundary: run the command; any error it raises is printed as one
    ``error:`` line and one ``fix:`` line (with ``--json``, also as one JSON object on stdout) and becomes a
    non-zero exit code, never a traceback. Errors settlekit did not anticipate are reported the same way, with
    the way to see their traceback (``--debug`` or ``SETTLEKIT_DEBUG=1``, which re-raise them)."""
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    if "--help" in args or not args:
        help_width.install()  # option names whole at 80 columns
    try:
        code = app(args=args, prog_name="settlekit", standalone_mode=False)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except typer.Abort:
        failure: SettlekitError = translate(KeyboardInterrupt())
    except BaseException as error:  # the boundary: everything a command lets out
        if type(error).__name__ == "NoArgsIsHelpError":  # a bare group: its help is already printed
            return 2
        failure = _usage(error) or translate(error)
        if isinstance(failure, UnexpectedError) and _debugging():
            raise
    else:
        return code if isinstance(code, int) else 0
    emit_error(failure, as_json=as_json)
    return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
