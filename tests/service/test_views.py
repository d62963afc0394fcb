"""Views and exports of the service floor against what they are built from: the run's own
columns, the model's predictions, Python's json and csv."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from gradscape.service import frames
from gradscape.service.exporting import export_csv, export_json
from gradscape.service.live import Budgets, LiveRun
from gradscape.service.views import columns, data_view, info, step_records, trajectory
from tests.chapter_loop import chapter_loop


def test_the_decision_boundary_grid_spans_the_data_with_a_tenth_of_margin() -> None:
    run = LiveRun.create({"preset": "moons-mlp"})
    run.step(30, evaluate="none")
    s = run.session
    view = data_view(s, 7)
    X = s.dataset.X  # type: ignore[union-attr]
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo)
    np.testing.assert_allclose(view["grid_x"], np.linspace(lo[0] - pad[0], hi[0] + pad[0], 7))
    np.testing.assert_allclose(view["grid_y"], np.linspace(lo[1] - pad[1], hi[1] + pad[1], 7))
    gx, gy = np.meshgrid(view["grid_x"], view["grid_y"])
    ref = s.model.predict(s.params, np.c_[gx.ravel(), gy.ravel()])[:, 0].reshape(gx.shape)
    np.testing.assert_allclose(view["prediction"], ref, rtol=1e-12)
    line = LiveRun.create({"preset": "line"}).session
    curve = data_view(line, 5)
    x = line.dataset.X[:, 0]  # type: ignore[union-attr]
    margin = 0.1 * (x.max() - x.min())
    assert curve["kind"] == "curve"
    np.testing.assert_allclose(curve["grid_x"], np.linspace(x.min() - margin, x.max() + margin, 5))


def test_the_curve_of_one_feature_is_the_line_w_x_plus_b_on_its_grid() -> None:
    run = LiveRun.create({"preset": "line"})
    s = run.session
    start = data_view(s, 5)  # step 0: the preset's init_params w = -1.5, b = -1.0
    x = np.array(start["grid_x"])
    np.testing.assert_allclose(start["prediction"], -1.5 * x - 1.0, rtol=1e-15)
    run.step(30, evaluate="none")
    w, b = s.params
    now = data_view(s, 5)
    np.testing.assert_allclose(now["prediction"], w * x + b, rtol=1e-12)
    np.testing.assert_allclose(data_view(s, 5, step=0)["prediction"], start["prediction"])


def test_the_csv_export_is_the_json_export_row_by_row_with_newline_endings() -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(4, evaluate="all")
    text = export_csv(run.session)
    assert "\r" not in text and text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    data = export_json(run.session)["trajectory"]
    assert rows[0][:2] == ["step", "epoch"] and len(rows) == 1 + len(data["step"])
    assert [int(r[0]) for r in rows[1:]] == data["step"]


def test_frames_are_compact_json_and_thin_to_every_other_row_keeping_the_last() -> None:
    frame = {"type": "steps", "eval": {"step": [1, 2, 3, 4], "loss": [0.5, 0.4, 0.3, 0.2],
             "accuracy": [1, 1, 1, 1], "layer_grad_norms": [[1.0]] * 4}}  # fmt: skip
    for key in ("step", "epoch", "batch_loss", "grad_norm", "lr", "batch_size"):
        frame[key] = list(range(10, 16))  # six rows: even, so the last is kept on its own
    text = frames.encode(frame, 1 << 20)
    assert text == json.dumps(frame, allow_nan=False, separators=(",", ":"))
    thin = frames._thinned(frame)
    for key in ("step", "epoch", "batch_loss", "grad_norm", "lr", "batch_size"):
        assert thin[key] == [10, 12, 14, 15], key
    assert thin["eval"]["step"] == [1, 3, 4] and thin["eval"]["loss"] == [0.5, 0.3, 0.2]
    odd = frames._thinned({**frame, "step": [1, 2, 3, 4, 5]})
    assert odd["step"] == [1, 3, 5]


def test_reset_stops_play_and_says_so_as_false() -> None:
    run = LiveRun.create({"preset": "line"})
    run.play(50.0)
    run.tick(3)
    run.reset()
    assert run.playing is False and run.session.step_count == 0


def test_a_pca_surface_reports_the_current_point_and_the_paths_variance_shares() -> None:
    """References: the core's loss and gradient at theta_T, and the SVD of the path the
    view drew, centred on theta_T (np.linalg)."""
    from gradscape.service.surfaces import backprop_view, surface_view

    run = LiveRun.create({"preset": "moons-mlp"})
    run.step(40)
    out = surface_view(run, {"mode": "pca", "resolution": 5}, [])
    s = run.session
    ds = s.dataset
    assert ds is not None
    loss, grad = s.model.loss_and_grad(s.params, ds.X, ds.y)
    cur = out["current"]
    assert (cur["step"], cur["loss"], cur["lr"]) == (40, loss, 0.01)
    assert cur["grad_norm"] == float(np.linalg.norm(grad))
    path = s.params_at(out["path"]["step"])
    sv = np.linalg.svd(path - s.params, compute_uv=False)
    np.testing.assert_allclose(out["explained_variance"], sv[:2] ** 2 / np.sum(sv**2), rtol=1e-9)
    view = backprop_view(run, None, 3)
    assert (view["loss_name"], view["output_activation"]) == ("bce", "sigmoid")


def test_the_session_info_names_its_datas_features_and_task() -> None:
    # the chapter's pass-fail table: (hours studied, hours slept) -> pass; line: x -> y
    chapter = info(LiveRun.create({"preset": "pass-fail"}))
    assert (chapter["n_features"], chapter["task"]) == (2, "binary")
    line = info(LiveRun.create({"preset": "line"}))
    assert (line["n_features"], line["task"]) == (1, "regression")
    surface = info(LiveRun.create({"preset": "rosenbrock"}))
    assert (surface["n_features"], surface["task"], surface["n_samples"]) == (None, None, None)


def test_three_features_are_shown_as_a_table_of_points_with_no_grid() -> None:
    # no curve (1 feature) or boundary (2) to draw: the points themselves, as given
    X = [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 2.0, 0.0], [1.0, 1.0, 1.0]]
    data = {"X": X, "y": [0.0, 1.0, 1.0, 0.0], "feature_names": ["a", "b", "c"]}
    s = LiveRun.create({"data": data, "model": {"hidden": [3]}}).session
    view = data_view(s, 5)
    assert view["kind"] == "table" and "grid_x" not in view and "prediction" not in view
    assert view["feature_names"] == ["a", "b", "c"] and view["task"] == "binary"
    assert view["X"] == X and view["y"] == [0.0, 1.0, 1.0, 0.0]  # inline data, as given


def test_columns_send_steps_and_batch_sizes_as_json_integers_and_nan_as_null() -> None:
    # the record columns are float arrays; NaN batch_size = an analytic surface has no batch
    cols = {
        "step": np.array([0.0, 1.0, 2.0]),
        "batch_size": np.array([np.nan, 16.0, 4.0]),
        "lr": np.array([0.1, np.nan, 0.05]),
    }
    text = json.dumps(columns(cols, ["step", "batch_size", "lr"]))
    assert text == '{"step": [0, 1, 2], "batch_size": [null, 16, 4], "lr": [0.1, null, 0.05]}'


def test_step_records_and_trajectory_slices_are_the_chapters_updates() -> None:
    loop = chapter_loop(3)
    run = LiveRun.create({"preset": "pass-fail"})
    steps = run.session.step(3, evaluate="none")
    out = step_records(run.session, steps, ["step", "params", "grad"])
    assert out["step"] == [1, 2, 3]
    np.testing.assert_allclose(out["params"], [e.after for e in loop], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["grad"], [e.grad for e in loop], rtol=0, atol=1e-12)
    part = trajectory(run.session, 1, 3, None, ["step", "params"])  # like Python's [1:3]
    assert part["step"] == [1, 2]
    np.testing.assert_allclose(part["params"], [loop[0].after, loop[1].after], atol=1e-12)


def test_the_data_view_reaches_the_last_step_and_refuses_one_past_it() -> None:
    run = LiveRun.create({"preset": "line"})
    run.step(30, evaluate="none")
    s = run.session
    w, b = s.params
    last = data_view(s, 5, step=30)  # step T: the latest parameters themselves
    np.testing.assert_allclose(last["prediction"], w * np.array(last["grid_x"]) + b, rtol=1e-12)
    message = "step: 31 is outside the run's steps 0..30"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        data_view(s, 5, step=31)


def test_an_analytic_surface_has_no_data_to_show() -> None:
    rosenbrock = LiveRun.create({"preset": "rosenbrock"}).session
    assert data_view(rosenbrock, 5) == {"kind": "surface", "X": [], "y": []}


def test_the_curve_view_carries_the_points_and_their_names() -> None:
    s = LiveRun.create({"preset": "line"}).session
    ds = s.dataset
    assert ds is not None
    view = data_view(s, 5)
    assert (view["kind"], view["feature_names"], view["target_name"]) == ("curve", ["x"], "y")
    assert view["task"] == "regression"
    np.testing.assert_array_equal(view["X"], ds.X)
    np.testing.assert_array_equal(view["y"], ds.y)


def test_a_narrow_or_constant_feature_gets_a_tenth_of_its_range_or_a_sliver() -> None:
    # feature a spans 0.5 (margin 0.05); b is constant 3 (its range counts as 1e-9: 1e-10)
    data = {"X": [[0.0, 3.0], [0.5, 3.0], [0.25, 3.0]], "y": [0.0, 1.0, 1.0]}
    s = LiveRun.create({"data": data, "model": {"hidden": [2]}}).session
    view = data_view(s, 5)
    assert view["kind"] == "boundary" and view["target_name"] == "y"
    np.testing.assert_allclose(view["grid_x"], np.linspace(-0.05, 0.55, 5), rtol=0, atol=1e-15)
    np.testing.assert_allclose(view["grid_y"], np.linspace(3 - 1e-10, 3 + 1e-10, 5), rtol=1e-15)


def test_a_multiclass_boundary_shows_the_predicted_class_on_the_grid() -> None:
    run = LiveRun.create({"data": {"name": "blobs", "classes": 3, "n_samples": 30},
                          "model": {"hidden": [4]}})  # fmt: skip
    run.step(50, evaluate="none")
    s = run.session
    view = data_view(s, 6)
    gx, gy = np.meshgrid(view["grid_x"], view["grid_y"])
    scores = s.model.predict(s.params, np.c_[gx.ravel(), gy.ravel()])
    assert scores.shape == (36, 3)
    classes = np.argmax(scores, axis=1).reshape(6, 6)  # the class with the largest score
    assert set(classes.ravel().tolist()) == {0, 1, 2}
    assert view["prediction"] == classes.astype(float).tolist()


def test_the_session_info_is_the_current_steps_epoch_loss_and_accuracy() -> None:
    loop = chapter_loop(4)  # loop[3] starts from theta_3: its loss is the loss at step 3
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(3, evaluate="none")
    now = info(run)
    theta = loop[2].after
    X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)  # the chapter's table
    passed = 1 / (1 + np.exp(-(X @ theta[:2] + theta[2]))) > 0.5
    accuracy = float(np.mean(passed == np.array([True, False, True, False])))
    assert (now["step"], now["epoch"], now["status"]) == (3, 3.0, "paused")  # 4 rows: 1 epoch
    assert now["loss"] == pytest.approx(loop[3].loss, abs=3e-9)  # the loop adds 1e-9
    assert now["accuracy"] == accuracy
    np.testing.assert_allclose(now["params"], theta, rtol=0, atol=1e-12)
    assert (now["n_params"], now["param_names"], now["n_samples"]) == (
        3, ["w_study", "w_sleep", "bias"], 4
    )  # fmt: skip


def test_info_evaluates_the_current_loss_and_accuracy_but_not_the_held_out_ones() -> None:
    data = {"name": "moons", "n_samples": 40, "validation_split": 0.25}
    run = LiveRun.create({"data": data, "model": {"hidden": [4]}})
    run.step(3, evaluate="none")
    info(run)
    got = run.session.recorded(3, 4, ["accuracy", "val_loss", "val_accuracy"])
    assert np.isfinite(got["accuracy"][0])
    assert np.isnan(got["val_loss"][0]) and np.isnan(got["val_accuracy"][0])


def test_a_pause_for_want_of_a_viewer_is_the_reason_only_while_paused() -> None:
    run = LiveRun.create({"preset": "pass-fail"}, Budgets(max_trajectory_steps=5))
    run.play(10.0)
    run.pause("no viewer read a frame for 5 s")
    now = info(run)
    assert (now["status"], now["reason"], now["unread"]) == (
        "paused", "no viewer read a frame for 5 s", True
    )  # fmt: skip
    run.step(5, evaluate="none")  # now at its step limit: that is why it stands
    now = info(run)
    assert (now["status"], now["reason"], now["unread"]) == ("limit", None, False)
