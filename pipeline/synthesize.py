"""DVC stage `synthesize`: see facegan.stages.synthesize (this stage's code only)."""

import sys
from pathlib import Path

from facegan.stage import run_stage
from facegan.stages import synthesize as stage

if __name__ == "__main__":
    sys.exit(run_stage(Path(__file__).stem, stage.run, distributed=stage.DISTRIBUTED))
