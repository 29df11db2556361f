"""Stage `validate`."""

from __future__ import annotations

from facegan.config import Params
from facegan.paths import VALIDATED

DEPS = ()  # params.yaml, and the inputs it names
OUTS = (VALIDATED,)
DISTRIBUTED = False  # under torchrun, rank 0 runs it alone


def run(params: Params) -> None:
    """Check params.yaml and the inputs it names before any stage deletes its outputs."""
    from facegan.inputs import check_inputs
    from facegan.io import atomic_write_json

    check_inputs(params)  # params themselves were validated when run_stage loaded them
    # Always the same bytes: a valid change of params reruns this stage and nothing through it.
    atomic_write_json(VALIDATED, {"params.yaml": "valid", "inputs": "found"})
