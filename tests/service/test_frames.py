"""Frames: a cut copies what a frame needs; joined cuts make the frame one cut would."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradscape.landscape.directions import make_plane
from gradscape.service import frames
from gradscape.service.live import LiveRun


def _played(chunks: list[int], plane: bool) -> tuple[LiveRun, list[frames.Cut]]:
    run = LiveRun.create({"preset": "moons-mlp"})
    if plane:
        s = run.session
        ds = s.dataset
        assert ds is not None
        run.plane = make_plane("random", s.model, ds.X, ds.y, s.params[None], seed=0)
    cuts, since = [], 0
    for n in chunks:
        run.play(None)
        run.tick(n)
        cuts.append(frames.cut(run, since))
        since = cuts[-1].to
    return run, cuts


@pytest.mark.parametrize("plane", [False, True])
def test_joined_cuts_build_the_frame_one_cut_of_the_span_builds(plane: bool) -> None:
    run, cuts = _played([7, 300, 40, 1], plane)
    whole = frames.build(frames.cut(run, 0))
    joined = frames.build(frames.join(cuts))
    if plane:  # coordinates solved in other batches agree to rounding
        xy = [frame["eval"]["plane"].pop("xy") for frame in (whole, joined)]
        np.testing.assert_allclose(xy[0], xy[1], rtol=1e-9, atol=1e-12)
    assert joined == whole
    assert joined["from"] == 1 and joined["to"] == 348 and len(joined["step"]) <= frames.ROWS
    if plane:
        assert joined["eval"]["plane"]["step"][-1] == 348


def test_a_cut_is_a_copy_the_run_can_train_past() -> None:
    run, cuts = _played([20], plane=False)
    before = json.dumps(frames.build(cuts[0]))
    run.rewind(5)
    run.play(None)
    run.tick(30)  # rewrites the rows the cut was taken from
    assert json.dumps(frames.build(cuts[0])) == before
    assert np.all(cuts[0].cols["step"] == np.arange(1, 21))


def test_cuts_that_do_not_follow_each_other_are_refused() -> None:
    _, cuts = _played([5, 5, 5], plane=False)
    with pytest.raises(ValueError, match="consecutive"):
        frames.join([cuts[0], cuts[2]])
