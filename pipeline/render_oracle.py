"""DVC stage `render_oracle`: see facegan.stages.render_oracle (this stage's code only)."""

import sys

from facegan.stage import run_stage
from facegan.stages.render_oracle import run

if __name__ == "__main__":
    sys.exit(run_stage("render_oracle", run))
