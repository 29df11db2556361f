"""DVC stage `prep`: see facegan.stages.prep (this stage's code only)."""

import sys
from pathlib import Path

from facegan.stage import run_stage
from facegan.stages import prep as stage

if __name__ == "__main__":
    sys.exit(run_stage(Path(__file__).stem, stage.run, distributed=stage.DISTRIBUTED))
