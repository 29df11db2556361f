"""DVC stage `synthesize`: see facegan.stages.synthesize (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.synthesize import run

if __name__ == "__main__":
    sys.exit(run_stage("synthesize", run))
