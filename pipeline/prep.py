"""DVC stage `prep`: see facegan.stages.prep (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages import prep as stage

if __name__ == "__main__":
    sys.exit(run_stage("prep", stage.run, distributed=stage.DISTRIBUTED))
