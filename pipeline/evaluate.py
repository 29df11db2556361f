"""DVC stage `evaluate`: see facegan.stages.evaluate."""

import sys

from facegan.stage import run_stage
from facegan.stages import evaluate

if __name__ == "__main__":
    sys.exit(run_stage("evaluate", evaluate))
