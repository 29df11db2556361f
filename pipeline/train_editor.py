"""DVC stage `train_editor`: see facegan.stages.train_editor (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.train_editor import run

if __name__ == "__main__":
    sys.exit(run_stage("train_editor", run))
