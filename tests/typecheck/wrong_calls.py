"""Calls ``mypy --strict`` must refuse (tests/test_api_typed.py expects one error on each
line marked ``# wrong``). Nothing here runs at import."""

from __future__ import annotations

import labelprep


def misspelled_option() -> None:
    labelprep.run("a.csv", tolerence=0.01)  # wrong


def wrong_type() -> None:
    labelprep.class_stats("a.csv", tolerance="0.01")  # wrong


def unknown_choice() -> None:
    labelprep.validate("a.csv", count_by="mass")  # wrong


def option_of_another_command() -> None:
    labelprep.compare("a.csv", "b.csv", compression="zstd")  # wrong


def positional_option() -> None:
    labelprep.run("a.csv", "out")  # wrong
