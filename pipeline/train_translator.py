"""DVC stage `train_translator`: see facegan.stages.train_translator (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_translator as stage

if __name__ == "__main__":
    sys.exit(run_stage("train_translator", stage.run, distributed=stage.DISTRIBUTED))
