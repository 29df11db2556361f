import numpy as np
import pandas as pd
import pytest

from facegan.config import SplitParams
from facegan.data.split import assign_roles, novel_identities, val_identities
from facegan.errors import FaceganError


def table(counts: dict[int, int], partition: dict[int, int] | None = None) -> pd.DataFrame:
    ids = np.repeat(list(counts), list(counts.values()))
    part = [partition[i] for i in ids] if partition else -1
    return pd.DataFrame({"identity": ids, "partition": part})


def test_random_split_draws_the_fraction_from_eligible_identities():
    counts = {i: (3 if i < 10 else 12) for i in range(40)}
    novel = novel_identities(table(counts), SplitParams(novel_fraction=0.25, min_images=8), seed=0)
    assert len(novel) == 8 and all(i >= 10 for i in novel)
    assert novel == novel_identities(table(counts), SplitParams(novel_fraction=0.25, min_images=8), seed=0)
    assert novel != novel_identities(table(counts), SplitParams(novel_fraction=0.25, min_images=8), seed=1)


def test_partition_split_uses_the_test_partition():
    counts = {i: 5 for i in range(6)}
    novel = novel_identities(table(counts, {i: (2 if i >= 4 else i % 2) for i in range(6)}),
                             SplitParams(by="partition"), seed=0)
    assert novel == {4, 5}


@pytest.mark.bad_input
def test_partition_split_rejects_identities_spanning_partitions():
    t = table({1: 4, 2: 4, 3: 4}, {1: 0, 2: 2, 3: 2})
    t.loc[0, "partition"] = 2
    with pytest.raises(FaceganError, match="identity 1"):
        novel_identities(t, SplitParams(by="partition"), seed=0)


def test_roles_hold_out_validation_images_of_base_identities_only():
    t = table({i: 10 for i in range(6)})
    roles = assign_roles(t, {4, 5}, val_fraction=0.2, seed=0)
    assert (roles[roles.identity >= 4].role == "novel").all()
    base = roles[roles.identity < 4]
    assert (base.groupby("identity").role.apply(lambda r: (r == "val").sum()) == 2).all()
    assert (base.groupby("identity").role.apply(lambda r: (r == "train").sum()) == 8).all()


def test_roles_never_take_the_last_training_image():
    roles = assign_roles(table({0: 2, 1: 2}), set(), val_fraction=0.45, seed=0)
    assert (roles.groupby("identity").role.apply(lambda r: (r == "train").sum()) >= 1).all()


def test_val_identities_are_drawn_apart_from_novel_and_keep_the_novel_draw():
    counts = {i: 12 for i in range(40)}
    params = SplitParams(novel_fraction=0.25, min_images=8, val_identities=0.1)
    novel = novel_identities(table(counts), params, seed=0)
    val = val_identities(table(counts), params, novel, seed=0)
    assert len(val) == 4 and not (val & novel)
    assert novel == novel_identities(table(counts), SplitParams(novel_fraction=0.25, min_images=8,
                                                                val_identities=0.0), seed=0)
    roles = assign_roles(table(counts), novel, val_fraction=0.2, seed=0, val_ids=val)
    held = roles[roles.identity.isin(val)]
    assert (held.split == "val").all() and (held.role == "val").all()
    assert set(roles[roles.split == "base"].identity) == set(counts) - novel - val


def test_partition_split_takes_val_identities_from_the_val_partition():
    counts = {i: 5 for i in range(8)}
    t = table(counts, {i: (2 if i >= 6 else 1 if i >= 4 else 0) for i in range(8)})
    novel = novel_identities(t, SplitParams(by="partition"), seed=0)
    assert val_identities(t, SplitParams(by="partition"), novel, seed=0) == {4, 5}
    assert val_identities(t, SplitParams(by="partition", val_identities=0.0), novel, seed=0) == set()
