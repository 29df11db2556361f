"""DVC stage `render_oracle`: see facegan.stages.render_oracle."""

import sys

from facegan.stage import run_stage
from facegan.stages import render_oracle

if __name__ == "__main__":
    sys.exit(run_stage("render_oracle", render_oracle))
