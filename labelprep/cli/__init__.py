"""The command line: each command parses, calls one public function, renders.

The package is the only place that prints or exits. ``commands`` holds the commands,
``options`` the shared options, ``render`` what they print, ``process`` how a command
ends (exit codes: 0 success, 1 the data failed a gate, 2 usage or input error, 3
internal error with the traceback, 130 / 143 on SIGINT / SIGTERM).
"""

from labelprep.cli.commands import main

__all__ = ["main"]
