"""DVC stage `train_translator`: see facegan.stages.train_translator."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_translator

if __name__ == "__main__":
    sys.exit(run_stage("train_translator", train_translator))
