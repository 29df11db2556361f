"""DVC stage `render`: see facegan.stages.render."""

import sys

from facegan.stage import run_stage
from facegan.stages import render

if __name__ == "__main__":
    sys.exit(run_stage("render", render))
