"""dvclive for a training stage, opened once training knows whether it resumes.

DVC deletes a stage's dvclive folder before rerunning it while the stage's checkpoint persists,
and a killed run's folder holds rows logged after its last checkpoint. So what a run logs is kept
in its checkpoint (`logged(live)`), and a resumed run rebuilds the folder from it: the folder then
holds exactly the rows up to the checkpoint's step, as an uninterrupted run's would.
"""

from __future__ import annotations

from pathlib import Path

HISTORY_KEY = "live"  # where a checkpoint keeps the rows logged so far


class LoggedLive:
    """A dvclive `Live` that keeps every step it logged (metric values and image PNG bytes), as
    plain types a weights_only checkpoint holds. Trainers log one step as `step = n`,
    `log_metric`/`log_image`, `next_step()`; that is what it records and replays."""

    def __init__(self, live, rows: list[dict] = ()):
        self.live = live
        self.rows: list[dict] = []
        self._pending: dict | None = None
        for row in rows:
            self._replay(row)

    @property
    def step(self) -> int:
        return self.live.step

    @step.setter
    def step(self, value: int) -> None:
        self.live.step = value

    def _row(self) -> dict:
        if self._pending is None:
            self._pending = {"step": int(self.live.step), "metrics": {}, "images": {}}
        return self._pending

    def log_metric(self, name: str, val) -> None:
        # numpy/torch scalars become Python numbers both here and on replay, so the .tsv text matches.
        val = val.item() if hasattr(val, "item") else val
        self._row()["metrics"][name] = val
        self.live.log_metric(name, val)

    def log_image(self, name: str, val) -> None:
        self.live.log_image(name, val)
        self._row()["images"][name] = self._image_path(name).read_bytes()

    def next_step(self) -> None:
        if self._pending is not None:
            self.rows.append(self._pending)
            self._pending = None
        self.live.next_step()

    def end(self) -> None:
        self.live.end()

    def _image_path(self, name: str) -> Path:
        from dvclive.plots import Image

        return Path(self.live.plots_dir) / Image.subfolder / name

    def _replay(self, row: dict) -> None:
        from io import BytesIO

        from PIL import Image

        self.step = row["step"]
        for name, val in row["metrics"].items():
            self.log_metric(name, val)
        for name, data in row["images"].items():
            self.log_image(name, Image.open(BytesIO(data)))
            self._image_path(name).write_bytes(data)  # the logged bytes, not a re-encoding
            self._pending["images"][name] = data
        self.next_step()

    def __getattr__(self, name):  # the rest of Live (summary, dir, ...) as it is
        return getattr(self.live, name)


def logged(live) -> list[dict]:
    """The rows `live` logged so far, for the checkpoint (none from a rank that does not log)."""
    return live.rows if isinstance(live, LoggedLive) else []


def live_factory(live_dir: Path | None):
    """A callable `open_live(state) -> LoggedLive` (None without `live_dir`), `state` being the
    checkpoint training resumes from or None; `.opened` lists what it opened, for the stage to `end()`."""
    if live_dir is None:
        return None
    opened = []

    def open_live(state: dict | None):
        from dvclive import Live

        # A checkpoint from before histories were kept can only continue the folder as it is.
        resume = state is not None and HISTORY_KEY not in state
        # dvc.yaml declares the plots; dvclive must not write its own or start experiments.
        live = Live(str(live_dir), resume=resume, dvcyaml=False, save_dvc_exp=False)
        opened.append(LoggedLive(live, state.get(HISTORY_KEY, []) if state is not None else []))
        return opened[0]

    open_live.opened = opened
    return open_live
