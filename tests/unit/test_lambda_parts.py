"""How the command line composes Lambda's parts: with the default, relative --data-dir, functions are
kept under an absolute path (a worker runs in its function's folder: a relative task root named a
folder below it, and every handler failed with Runtime.ImportModuleError)."""

from __future__ import annotations

from cdc_bridge.cli import build_parser, lambda_parts


def test_a_relative_data_dir_gives_lambda_absolute_paths():
    args = build_parser().parse_args(["up", "--data-dir", "./data"])
    logs, functions, event_sources = lambda_parts(args)
    assert functions.settings.data_dir.is_absolute() and functions.settings.root.is_absolute()
    assert event_sources.data_dir.is_absolute()
