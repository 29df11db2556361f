"""DVC stage `validate`: see facegan.stages.validate."""

import sys

from facegan.stage import run_stage
from facegan.stages import validate

if __name__ == "__main__":
    sys.exit(run_stage("validate", validate))
