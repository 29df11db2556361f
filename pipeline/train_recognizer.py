"""DVC stage `train_recognizer`: see facegan.stages.train_recognizer."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_recognizer

if __name__ == "__main__":
    sys.exit(run_stage("train_recognizer", train_recognizer))
