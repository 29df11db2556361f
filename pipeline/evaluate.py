"""DVC stage `evaluate`: see facegan.stages.evaluate (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.evaluate import run

if __name__ == "__main__":
    sys.exit(run_stage("evaluate", run))
