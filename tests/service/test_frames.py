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


def test_an_overlaid_run_that_drew_no_surface_streams_on_the_main_runs_plane() -> None:
    """Overlaying a run gives its frames coordinates on the plane drawn for the main run,
    without that run asking for a surface of its own (issue 16's surviving mutant)."""
    from gradscape.service.surfaces import surface_view

    main = LiveRun.create({"preset": "moons-mlp"})
    other = LiveRun.create({"preset": "moons-mlp", "optimizer": {"name": "sgd", "lr": 0.3}})
    main.step(40)
    other.step(40)
    assert other.plane is None
    out = surface_view(main, {"mode": "pca", "resolution": 5}, [other])
    plane = main.plane
    assert plane is not None and other.plane is plane
    other.play(None)
    other.tick(3)
    frame = frames.build(frames.cut(other, 40))
    on_plane = frame["eval"]["plane"]
    assert on_plane["step"][-1] == 43
    # The reference: least squares of theta_43 - origin on [d1; d2], by np.linalg.lstsq.
    D = np.vstack([out["plane"]["d1"], out["plane"]["d2"]]).T  # (P, 2), as the page gets it
    origin = np.array(out["plane"]["center"]) - D @ np.array(out["plane"]["offset"])
    ab, *_ = np.linalg.lstsq(D, other.session.params - origin, rcond=None)
    np.testing.assert_allclose(on_plane["xy"][-1], ab, rtol=1e-9, atol=1e-12)
    # the overlay's last update, also on the main run's plane
    prev, now, grad, lr = other.session.last_update()  # type: ignore[misc]
    points = np.stack([prev, now, prev - lr * grad]).T - origin[:, None]
    start, end, tip = np.linalg.lstsq(D, points, rcond=None)[0].T
    arrows = on_plane["last_update"]
    np.testing.assert_allclose(arrows["from"], start, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arrows["descent"], tip - start, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(arrows["taken"], end - start, rtol=1e-8, atol=1e-12)
