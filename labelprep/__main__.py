"""``python -m labelprep``."""

from labelprep.cli import main

main(prog_name="labelprep")
