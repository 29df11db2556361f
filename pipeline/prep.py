"""DVC stage `prep`: see facegan.stages.prep."""

import sys

from facegan.stage import run_stage
from facegan.stages import prep

if __name__ == "__main__":
    sys.exit(run_stage("prep", prep))
