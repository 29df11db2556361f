"""DVC stage `synthesize`: see facegan.stages.synthesize."""

import sys

from facegan.stage import run_stage
from facegan.stages import synthesize

if __name__ == "__main__":
    sys.exit(run_stage("synthesize", synthesize))
