"""DVC stage `validate`: see facegan.stages.validate (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.validate import run

if __name__ == "__main__":
    sys.exit(run_stage("validate", run))
