"""DVC stage `train_recognizer_aug`: see facegan.stages.train_recognizer_aug (this stage's code only)."""

import sys
from pathlib import Path

from facegan.stage import run_stage
from facegan.stages import train_recognizer_aug as stage

if __name__ == "__main__":
    sys.exit(run_stage(Path(__file__).stem, stage.run, distributed=stage.DISTRIBUTED))
