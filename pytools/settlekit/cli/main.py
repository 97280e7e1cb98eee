"""The ``settlekit`` command: a thin shell that parses arguments, calls the library and renders results."""

from __future__ import annotations

import sys

import typer

from settlekit import __version__
from settlekit.cli import build_cmd, chain_cmd, demo_cmd, deploy_cmd, doctor_cmd, errors_cmd, fuzz_cmd, watch_cmd
from settlekit.cli.init_cmd import init
from settlekit.cli.output import emit_error
from settlekit.exceptions import SettlekitError

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
app.command("incidents")(watch_cmd.incidents)
app.command("fuzz")(fuzz_cmd.fuzz)
app.command("init")(init)
app.add_typer(chain_cmd.app, name="chain")
app.add_typer(errors_cmd.app, name="errors")


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; turn settlekit errors into a message, a hint and an exit code (no traceback)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="settlekit")
    except SettlekitError as error:
        emit_error(error, as_json="--json" in args)
        return error.exit_code
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
