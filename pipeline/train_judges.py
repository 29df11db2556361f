"""DVC stage `train_judges`: see facegan.stages.train_judges (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.train_judges import run

if __name__ == "__main__":
    sys.exit(run_stage("train_judges", run))
