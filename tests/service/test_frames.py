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


def _f(x: float, y: float) -> float:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _grad(x: float, y: float) -> np.ndarray:
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def test_a_frame_of_a_surface_run_carries_every_column_worked_by_hand() -> None:
    """Rosenbrock from (-1.2, 1), SGD lr 0.001 momentum 0.9: theta_1 = theta_0 - lr g_0 and
    theta_2 = theta_1 - lr (0.9 g_0 + g_1); step k's batch loss and gradient are at theta_{k-1},
    its full-data loss at theta_k; a surface has one "layer" (its gradient), no accuracy
    and no batches."""
    run = LiveRun.create({"preset": "rosenbrock"})
    run.step(2)
    t0 = np.array([-1.2, 1.0])
    g0 = _grad(*t0)
    t1 = t0 - 0.001 * g0
    g1 = _grad(*t1)
    t2 = t1 - 0.001 * (0.9 * g0 + g1)
    n0, n1 = float(np.linalg.norm(g0)), float(np.linalg.norm(g1))
    frame = frames.build(frames.cut(run, 0))
    assert list(frame) == [
        *("type", "from", "to", "status", "reason", "step", "epoch", "batch_loss"),
        *("grad_norm", "lr", "batch_size", "eval", "params"),
    ]
    assert frame["type"] == "steps" and frame["from"] == 1 and frame["to"] == 2
    assert frame["status"] == "paused" and frame["reason"] is None
    assert frame["step"] == [1, 2] and frame["epoch"] == [1.0, 2.0]
    assert frame["batch_loss"] == pytest.approx([_f(*t0), _f(*t1)], rel=1e-12)
    assert frame["grad_norm"] == pytest.approx([n0, n1], rel=1e-12)
    assert frame["lr"] == 0.001 and frame["batch_size"] is None  # constant: one value each
    ev = frame["eval"]
    assert list(ev) == ["step", "loss", "accuracy", "layer_grad_norms"]
    assert ev["step"] == [1, 2] and ev["accuracy"] == [None, None]
    assert ev["loss"] == pytest.approx([_f(*t1), _f(*t2)], rel=1e-12)
    np.testing.assert_allclose(ev["layer_grad_norms"], [[n0], [n1]], rtol=1e-12)
    np.testing.assert_allclose(frame["params"], t2, rtol=1e-12)


def test_a_setting_that_changes_inside_a_frame_is_sent_per_row() -> None:
    run = LiveRun.create({"preset": "line"})  # full batches of 50
    run.step(2)
    run.set({"lr": 0.05})
    run.step(1)
    frame = frames.build(frames.cut(run, 1))  # two rows: steps 2 and 3
    assert frame["step"] == [2, 3]
    assert frame["lr"] == [0.1, 0.05] and frame["batch_size"] == 50.0


def test_a_diverged_run_frames_its_status_and_why() -> None:
    run = LiveRun.create({"preset": "line", "optimizer": {"lr": 1e6}})
    while run.status != "diverged":
        run.step(20)
    frame = frames.build(frames.cut(run, 20))
    assert frame["status"] == "diverged"
    assert frame["reason"] == f"loss became non-finite at step {frame['to'] + 1}"


def test_one_cut_joined_is_itself() -> None:
    _, cuts = _played([5], plane=False)
    assert frames.join(cuts) is cuts[0]


def _dumps(frame: dict[str, object]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def test_a_frame_that_fits_to_the_byte_is_sent_whole() -> None:
    frame = {"type": "steps", "step": [1, 2, 3], "eval": {"step": [3]}, "params": [0.5, 0.25]}
    text = '{"type":"steps","step":[1,2,3],"eval":{"step":[3]},"params":[0.5,0.25]}'
    assert frames.encode(frame, len(text)) == text  # 72 bytes: not one more is needed


def test_parameters_are_dropped_first_and_nothing_else_when_that_fits_to_the_byte() -> None:
    frame = {"type": "steps", "step": [1, 2, 3], "eval": {"step": [3]}, "params": [0.5, 0.25]}
    text = '{"type":"steps","step":[1,2,3],"eval":{"step":[3]}}'
    assert frames.encode(frame, len(text)) == text
    assert "params" in frame  # the caller's frame is not changed


def test_thinning_halves_every_column_keeping_both_ends() -> None:
    """One halving keeps rows 0, 2, 4, ...: an odd column keeps its last row that way, an
    even one takes its last row in place of the one before it."""
    frame = {
        "type": "steps",
        "step": [1, 2, 3, 4, 5],
        "epoch": [1.0, 2.0, 3.0, 4.0],
        "batch_loss": [7.0, 8.0],
        "lr": 0.1,
        "eval": {
            "step": [1, 3, 5],
            "loss": [0.5, 0.25],
            "accuracy": [0.1, 0.2, 0.3, 0.4, 0.5],
            "layer_grad_norms": [[1.0], [2.0], [3.0]],
        },
    }
    once = {
        "type": "steps",
        "step": [1, 3, 5],
        "epoch": [1.0, 3.0, 4.0],
        "batch_loss": [7.0, 8.0],
        "lr": 0.1,
        "eval": {
            "step": [1, 5],
            "loss": [0.5, 0.25],
            "accuracy": [0.1, 0.3, 0.5],
            "layer_grad_norms": [[1.0], [3.0]],
        },
    }
    assert frames.encode(frame, len(_dumps(once))) == _dumps(once)


def test_a_frame_is_halved_at_most_eight_times_then_refused() -> None:
    # 257 rows halve to 129, 65, 33, 17, 9, 5, 3 (seven times) and 2 (eight)
    ev = {"step": [0], "layer_grad_norms": [[1.0]]}
    frame = {"type": "steps", "step": list(range(257)), "eval": ev}
    seven = {"type": "steps", "step": [0, 128, 256], "eval": ev}
    assert frames.encode(frame, len(_dumps(seven))) == _dumps(seven)
    with pytest.raises(ValueError, match=r"^frame cannot fit the WebSocket message size$"):
        frames.encode(frame, len(_dumps(seven)) - 1)  # only eight halvings would fit


def test_a_frame_with_nan_is_refused_not_sent_as_invalid_json() -> None:
    with pytest.raises(ValueError, match=r"^Out of range float values are not JSON compliant"):
        frames.encode({"type": "steps", "loss": float("nan")}, 1000)


def _norms(length: int) -> list[list[float]]:
    """One row of layer norms whose text is ``length`` characters: "[[0.5, ..., 0.25]]"."""
    n = (length - 2) // 5  # each "0.5, " is 5 characters; "[[" "0.5" "]]" add 2
    row = [0.5] * n
    for i in range(length - (5 * n + 2)):
        row[i] = 0.25  # one character longer each
    assert len(str([row])) == length
    return [row]


@pytest.mark.parametrize(("length", "kept"), [(20_000, True), (20_001, False)])
def test_layer_norms_longer_than_20000_characters_are_dropped_when_thinning(
    length: int, kept: bool
) -> None:
    """Very deep nets: after a halving, layer norms of more than 20,000 characters go,
    the losses stay."""
    norms = _norms(length)
    frame = {"type": "steps", "step": [1, 2, 3], "eval": {"step": [3], "layer_grad_norms": norms}}
    once: dict[str, object] = {"type": "steps", "step": [1, 3], "eval": {"step": [3]}}
    if kept:
        once["eval"] = {"step": [3], "layer_grad_norms": norms}
    assert frames.encode(frame, len(_dumps(once))) == _dumps(once)


def test_held_out_losses_stay_row_for_row_with_their_steps_when_thinned() -> None:
    run = LiveRun.create({"preset": "moons-mlp", "data": {"validation_split": 0.25}})
    run.step(60)
    frame = frames.build(frames.cut(run, 0))
    ev = frame["eval"]
    assert len(ev["step"]) == len(ev["val_loss"]) == len(ev["val_accuracy"]) == 48
    whole = len(_dumps({k: v for k, v in frame.items() if k != "params"}))
    small = json.loads(frames.encode(frame, whole - 1))["eval"]  # one halving fits
    # rows 0, 2, ..., 46 then 47 of each: the held-out ones are those of the same steps
    rows = [*range(0, 47, 2), 47]
    assert small["step"] == [ev["step"][i] for i in rows]
    assert small["val_loss"] == [ev["val_loss"][i] for i in rows]
    assert small["val_accuracy"] == [ev["val_accuracy"][i] for i in rows]


@pytest.mark.parametrize(("hidden", "inline"), [([199, 2], True), ([250], False)])
def test_frames_carry_the_parameters_of_nets_of_at_most_1000(
    hidden: list[int], inline: bool
) -> None:
    """Moons has 2 features and one output: [199, 2] has 2*199 + 199 + 199*2 + 2 + 2 + 1 =
    1000 parameters, [250] has 2*250 + 250 + 250 + 1 = 1001."""
    run = LiveRun.create({"preset": "moons-mlp", "model": {"hidden": hidden}})
    assert run.session.model.n_params == (1000 if inline else 1001)
    run.step(1)
    frame = frames.build(frames.cut(run, 0))
    if inline:
        np.testing.assert_array_equal(frame["params"], run.session.params)
    else:
        assert "params" not in frame


def test_joined_cuts_drop_coordinates_on_a_plane_drawn_over_since() -> None:
    run, cuts = _played([5], plane=True)
    s = run.session
    ds = s.dataset
    assert ds is not None
    run.plane = make_plane("random", s.model, ds.X, ds.y, s.params[None], seed=1)  # redrawn
    run.play(None)
    run.tick(5)
    later = frames.cut(run, cuts[0].to)
    assert cuts[0].xy and cuts[0].plane is not run.plane
    joined = frames.join([cuts[0], later])
    assert joined.plane is run.plane and sorted(joined.xy) == sorted(later.xy)
    assert frames.build(joined)["eval"]["plane"]["step"] == sorted(later.xy)
