"""DVC stage `train_editor`: see facegan.stages.train_editor."""

import sys

from facegan.stage import run_stage
from facegan.stages import train_editor

if __name__ == "__main__":
    sys.exit(run_stage("train_editor", train_editor))
