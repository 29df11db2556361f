"""The stage runner: user errors and storage errors become one line and exit code 2."""

from __future__ import annotations

import errno
import json

import pytest

from facegan import io as facegan_io
from facegan.errors import FaceganError
from facegan.io import atomic_write_json
from facegan.stage import EXIT_USER_ERROR, run_stage


@pytest.mark.bad_input
def test_a_full_disk_is_one_line_and_the_previous_output_survives(workdir, monkeypatch, capsys):
    workdir.write_params()
    report = workdir / "reports/thing.json"
    atomic_write_json(report, {"old": True})

    def full_disk(fd, mode):
        raise OSError(errno.ENOSPC, "No space left on device", str(report))

    monkeypatch.setattr(facegan_io.os, "fdopen", full_disk)
    code = run_stage("thing", lambda params: atomic_write_json(report, {"new": True}))
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USER_ERROR and len(err.splitlines()) == 1
    assert err.startswith("error: thing: ") and "No space left on device" in err and "thing.json" in err
    assert json.loads(report.read_text()) == {"old": True}
    assert [p.name for p in report.parent.iterdir()] == ["thing.json"]  # no temp file left behind


@pytest.mark.bad_input
def test_a_facegan_error_is_one_line(workdir, capsys):
    workdir.write_params()

    def body(params):
        raise FaceganError("data/x: broken; fix it")

    assert run_stage("thing", body) == EXIT_USER_ERROR
    assert capsys.readouterr().err.strip() == "error: thing: data/x: broken; fix it"


def test_other_os_errors_are_not_hidden(workdir):
    workdir.write_params()

    def body(params):
        raise OSError(errno.EIO, "I/O error")

    with pytest.raises(OSError):
        run_stage("thing", body)
