"""DVC stage `train_judges`: see facegan.stages.train_judges."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_judges

if __name__ == "__main__":
    sys.exit(run_stage("train_judges", train_judges))
