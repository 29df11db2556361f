"""DVC stage `render_oracle`: see facegan.stages.render_oracle (this stage's code only)."""

import sys
from pathlib import Path

from facegan.stage import run_stage
from facegan.stages import render_oracle as stage

if __name__ == "__main__":
    sys.exit(run_stage(Path(__file__).stem, stage.run, distributed=stage.DISTRIBUTED))
