"""dvclive for a training stage, opened once training knows whether it resumes."""

from __future__ import annotations

from pathlib import Path


def live_factory(live_dir: Path | None):
    """A callable `open_live(resume) -> Live` (None without `live_dir`); `.opened` lists what it opened,
    for the stage to `end()`."""
    if live_dir is None:
        return None
    opened = []

    def open_live(resume: bool):
        from dvclive import Live

        # dvc.yaml declares the plots; dvclive must not write its own or start experiments.
        opened.append(Live(str(live_dir), resume=resume, dvcyaml=False, save_dvc_exp=False))
        return opened[0]

    open_live.opened = opened
    return open_live
