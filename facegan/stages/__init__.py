"""One module per DVC stage, `run(params)`: what the stage does, as a function of the params;
`DEPS`/`OUTS`: the paths (facegan.paths) it reads and writes, which it passes to the library
and dvc.yaml lists (tests/test_stage_paths.py); `DISTRIBUTED`: whether it trains data-parallel
under torchrun (otherwise rank 0 runs it alone).

Each imports only its own stage's code (lazily, so the CLI starts fast), so that the import
closure of `pipeline/<stage>.py` is what the stage runs and what dvc.yaml lists as its deps
(tests/test_dvc_deps.py). `facegan.stages.registry` names them all, for the CLI only.
"""
