"""DVC stage `train_translator`: see facegan.stages.train_translator (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.train_translator import run

if __name__ == "__main__":
    sys.exit(run_stage("train_translator", run))
