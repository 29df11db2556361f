"""DVC stage `train_recognizer_aug`: see facegan.stages.train_recognizer_aug."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_recognizer_aug

if __name__ == "__main__":
    sys.exit(run_stage("train_recognizer_aug", train_recognizer_aug))
