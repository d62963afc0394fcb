"""Snapshots restore a session exactly, without replaying it; damaged bytes are a ValueError."""

from __future__ import annotations

import ast
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from gradscape.core import snapshot
from gradscape.core.history import SCALARS
from gradscape.core.session import TrainingSession
from gradscape.core.snapshot import FORMAT, Snapshot, dumps, loads


def _run() -> TrainingSession:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(230, evaluate=10)
    s.set(lr=0.02, optimizer={"name": "rmsprop", "momentum": 0.5})
    s.step(77)
    return s


def test_restore_is_exact_and_continues_identically() -> None:
    live = _run()
    again = TrainingSession.restore(live.snapshot(), live.config)
    assert again.step_count == live.step_count and again.events == live.events
    np.testing.assert_array_equal(again.params, live.params)
    steps = [0, 50, 123, 230, 306]
    np.testing.assert_array_equal(again.params_at(steps), live.params_at(steps))
    cols = ["epoch", "batch_loss", "grad_norm", "lr", "batch_size", "layer_grad_norms"]
    a, b = again.recorded(0, 308, cols), live.recorded(0, 308, cols)
    for name in cols:
        np.testing.assert_array_equal(a[name], b[name])
    assert again.settings == live.settings
    live.step(40)
    again.step(40)
    np.testing.assert_array_equal(again.params, live.params)


def test_catch_up_replays_later_events_on_a_snapshot() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(20)
    snap = s.snapshot()
    s.set(lr=0.05, batch_size=10)
    s.step(15)
    restored = TrainingSession.restore(snap, s.config)
    restored.catch_up(s.events[len(restored.events) :], s.step_count)
    np.testing.assert_array_equal(restored.params, s.params)
    assert restored.settings == s.settings


def test_a_diverged_run_restores_as_diverged() -> None:
    s = TrainingSession({"preset": "exploding"})
    s.step(50)
    back = TrainingSession.restore(s.snapshot(), s.config)
    assert back.status == "diverged" and back.reason == s.reason


def test_a_snapshot_of_another_config_is_refused() -> None:
    snap = TrainingSession({"preset": "line"}).snapshot()
    with pytest.raises(ValueError, match="snapshot"):
        TrainingSession.restore(snap, {"preset": "crawl"})


def test_loads_gives_back_the_plain_parts_of_the_run() -> None:
    live = _run()
    saved = loads(live.snapshot(), live.config, live.n_samples)
    assert isinstance(saved, Snapshot)
    assert saved.state.step == live.step_count == len(saved.history) - 1
    assert saved.events == live.events and saved.status == "active" and saved.reason is None
    assert sorted(saved.checkpoints) == live.checkpoint_steps
    np.testing.assert_array_equal(saved.state.theta, live.params)
    np.testing.assert_array_equal(saved.checkpoints[200].theta, live.params_at([200])[0])
    again = loads(dumps(saved), live.config, live.n_samples)
    np.testing.assert_array_equal(again.history.column("lr"), saved.history.column("lr"))
    assert again.state.optimizer.state_dict()["step"] == saved.state.optimizer.state_dict()["step"]


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _header(header: object) -> np.ndarray:
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def _damaged() -> dict[str, bytes]:
    s = TrainingSession({"preset": "line"})
    s.step(30)
    good = s.snapshot()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    config = json.loads(json.dumps(s.config))
    return {
        "garbage": b"not a snapshot",
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "flipped byte": bytes(flipped),
        "no header": _npz(epoch=np.zeros(3)),
        "header not json": _npz(header=np.frombuffer(b"{nope", dtype=np.uint8)),
        "header not an object": _npz(header=_header([1, 2])),
        "missing keys": _npz(header=_header({"format": FORMAT, "config": config})),
        "wrong types": _npz(
            header=_header({"format": FORMAT, "config": config, "checkpoints": [], "state": 3}),
            layer_grad_norms=np.zeros((31, 1)),
        ),
    }


@pytest.mark.parametrize("name", list(_damaged()))
def test_a_damaged_snapshot_is_a_value_error(name: str) -> None:
    data = _damaged()[name]
    config = TrainingSession({"preset": "line"}).config
    with pytest.raises(ValueError, match="snapshot"):
        loads(data, config, 50)
    with pytest.raises(ValueError, match="snapshot"):
        TrainingSession.restore(data, config)


def test_the_codec_knows_nothing_of_the_session() -> None:
    tree = ast.parse(Path(snapshot.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "gradscape.core.session" not in imported and "gradscape.core.trainer" not in imported


def test_a_snapshot_whose_parts_disagree_is_refused() -> None:
    live = _run()
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.history.truncate(100)
    with pytest.raises(ValueError, match="do not agree"):
        loads(dumps(saved), live.config, live.n_samples)
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.events.append((live.step_count + 5, {"lr": 0.1}))
    with pytest.raises(ValueError, match="past the current step"):
        loads(dumps(saved), live.config, live.n_samples)


def test_a_format_1_snapshot_still_restores_exactly() -> None:
    live = _run()
    with np.load(io.BytesIO(live.snapshot())) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    header = json.loads(bytes(parts["header"]).decode())
    parts["header"] = _header({**header, "format": 1})
    again = TrainingSession.restore(_npz(**parts), live.config)  # raw columns, no seal
    np.testing.assert_array_equal(again.params_at([0, 123, 306]), live.params_at([0, 123, 306]))
    live.step(40)
    again.step(40)
    np.testing.assert_array_equal(again.params, live.params)


def test_a_snapshot_holds_only_the_kept_checkpoints_and_deflates_the_columns() -> None:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(8000, evaluate="none")
    data = s.snapshot()
    with np.load(io.BytesIO(data)) as arrays:
        names = [n for n in arrays.files if n.startswith("ckpt") and n.endswith(".theta")]
        kept = sorted(int(n[4:-6]) for n in names)
        assert "state.theta" in arrays.files
    assert kept == s.checkpoint_steps and len(kept) <= 64
    raw = 8 * 8001 * (9 + len(s.model.layer_slices))
    states = s._trainer.checkpoints.nbytes() + s._trainer.state.nbytes()
    assert len(data) < raw * 0.6 + states


def test_the_seal_is_the_whole_archive_comment_the_crc32_of_every_byte_before_it() -> None:
    """The documented format: the zip comment is exactly 8 hex digits, the CRC-32 of every
    byte of the archive before it (zlib's, computed here), and nothing else."""
    data = _run().snapshot()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        comment = archive.comment
    assert comment == f"{zlib.crc32(data[:-8]):08x}".encode()
    assert data.endswith(comment) and len(comment) == 8
    # zip's end record: signature, 16 bytes of counts and offsets, then the comment's length
    end = data.rindex(b"PK\x05\x06")
    assert int.from_bytes(data[end + 20 : end + 22], "little") == 8 == len(data) - end - 22


def test_a_change_made_at_the_current_step_is_kept_by_a_snapshot() -> None:
    """``set`` after the last step logs an event at step T itself; the snapshot taken then
    restores with it and goes on as the live run does (the reference)."""
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(10, evaluate="none")
    s.set(lr=0.05, batch_size=8)
    r = TrainingSession.restore(s.snapshot(), s.config)
    assert r.events == s.events == [(10, {"lr": 0.05, "batch_size": 8})]
    s.step(5, evaluate="none")
    r.step(5, evaluate="none")
    np.testing.assert_array_equal(r.params, s.params)


def test_a_snapshot_restored_under_a_smaller_checkpoint_budget_is_thinned_to_it() -> None:
    """A server restarted with less GRADSCAPE_CHECKPOINT_BYTES: the restored run keeps
    fewer states (thinned for its step count) and rebuilds every step as the live run."""
    from gradscape.core.config import Limits

    s = TrainingSession({"preset": "moons-mlp"}, checkpoint_every=10)
    s.step(400, evaluate="none")
    small = Limits(checkpoint_bytes=30_000)
    r = TrainingSession.restore(s.snapshot(), s.config, limits=small, checkpoint_every=10)
    assert len(r.checkpoint_steps) < len(s.checkpoint_steps)
    assert r._trainer.checkpoints.nbytes() <= small.checkpoint_bytes
    steps = [0, 37, 123, 250, 399, 400]
    np.testing.assert_array_equal(r.params_at(steps), s.params_at(steps))


def _line_parts() -> tuple[TrainingSession, dict[str, np.ndarray], dict]:
    """A short run of ``line`` and its snapshot's members and header."""
    s = TrainingSession({"preset": "line"})
    s.step(5)
    with np.load(io.BytesIO(s.snapshot())) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    return s, parts, json.loads(bytes(parts["header"]).decode())


def _cannot(why: str) -> str:
    return "^" + re.escape(f"snapshot: cannot be read ({why})") + "$"


@pytest.mark.parametrize("ladder", [0, -1, True, 2.0, "3"])
def test_a_ladder_that_is_not_a_positive_int_is_refused_by_its_whole_message(
    ladder: object,
) -> None:
    s, parts, header = _line_parts()
    data = _npz(**{**parts, "header": _header({**header, "format": 1, "ladder": ladder})})
    why = f"ValueError: snapshot: the checkpoint ladder {ladder!r} is not a positive integer"
    with pytest.raises(ValueError, match=_cannot(why)):
        loads(data, s.config, s.n_samples)


@pytest.mark.parametrize("ladder", [1, 7, None])
def test_a_ladder_of_one_or_more_or_none_is_read_back(ladder: int | None) -> None:
    s, parts, header = _line_parts()
    data = _npz(**{**parts, "header": _header({**header, "format": 1, "ladder": ladder})})
    assert loads(data, s.config, s.n_samples).ladder == ladder


def test_refusals_of_the_codec_by_their_whole_message() -> None:
    s, parts, header = _line_parts()
    good = s.snapshot()
    resealed = good[:-1] + (b"1" if good[-1:] == b"0" else b"0")  # one digit of the seal
    with pytest.raises(ValueError, match=_cannot("ValueError: the checksum does not match")):
        loads(resealed, s.config, s.n_samples)
    unsealed = _npz(**parts)  # format 2 without its seal
    with pytest.raises(ValueError, match=_cannot("ValueError: the checksum does not match")):
        loads(unsealed, s.config, s.n_samples)
    flat = {**parts, "state.theta": parts["state.theta"].reshape(1, -1)}
    flat["header"] = _header({**header, "format": 1})
    with pytest.raises(ValueError, match=_cannot("ValueError: state.theta has shape (1, 2)")):
        loads(_npz(**flat), s.config, s.n_samples)
    with pytest.raises(ValueError, match=_cannot("BadZipFile: File is not a zip file")):
        loads(b"PK\x03\x04 but no zip", s.config, s.n_samples)  # a zip's magic only
    for fmt in (0, 3, "2"):
        data = _npz(**{**parts, "header": _header({**header, "format": fmt})})
        with pytest.raises(ValueError, match=r"^snapshot: not a snapshot of this config$"):
            loads(data, s.config, s.n_samples)
    with pytest.raises(ValueError, match=r"^snapshot: not a snapshot of this config$"):
        loads(good, {**s.config, "seed": 1}, s.n_samples)


def test_the_consistency_refusals_by_their_whole_message() -> None:
    live = _run()
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.history.truncate(100)
    agree = r"^snapshot: history, checkpoints and state do not agree$"
    with pytest.raises(ValueError, match=agree):
        loads(dumps(saved), live.config, live.n_samples)
    saved = loads(live.snapshot(), live.config, live.n_samples)
    del saved.checkpoints[0]  # no theta_0 to rebuild from
    with pytest.raises(ValueError, match=agree):
        loads(dumps(saved), live.config, live.n_samples)
    past = r"^snapshot: checkpoints or events lie past the current step$"
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.events.append((live.step_count + 1, {"lr": 0.1}))  # one step past
    with pytest.raises(ValueError, match=past):
        loads(dumps(saved), live.config, live.n_samples)
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.checkpoints[live.step_count + 1] = saved.checkpoints[0]
    with pytest.raises(ValueError, match=past):
        loads(dumps(saved), live.config, live.n_samples)


def test_status_and_reason_come_back_as_written() -> None:
    s, parts, header = _line_parts()
    for status, reason in (("active", None), ("diverged", "loss is non-finite")):
        told = {**header, "format": 1, "status": status, "reason": reason}
        data = _npz(**{**parts, "header": _header(told)})
        back = loads(data, s.config, s.n_samples)
        assert (back.status, back.reason) == (status, reason)


def test_a_restored_run_counts_epochs_over_its_own_rows() -> None:
    """moons-mlp: 200 rows in batches of 32, 7 steps an epoch (6 of 32, one of 8). Step 10
    is 3 batches into epoch 1, so step 11 records epoch 1 + 4 * 32 / 200 = 1.64."""
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(10, evaluate="none")
    r = TrainingSession.restore(s.snapshot(), s.config)
    r.step(1, evaluate="none")
    assert r.recorded(11, 12, ["epoch"])["epoch"][0] == pytest.approx(1.64, abs=1e-12)


def test_a_state_is_read_as_float64_with_its_hyperparameters_checked_first() -> None:
    s, parts, header = _line_parts()
    narrow = {**parts, "state.theta": parts["state.theta"].astype(np.float32)}
    narrow["header"] = _header({**header, "format": 1})
    theta = loads(_npz(**narrow), s.config, s.n_samples).state.theta
    assert theta.dtype == np.float64
    np.testing.assert_array_equal(theta, parts["state.theta"].astype(np.float32))
    # both the optimizer's lr and its step count are bad: the lr is what is reported
    opt = {**header["state"]["optimizer"], "step": -1}
    opt["hyper"] = {**opt["hyper"], "lr": -1.0}
    told = {**header, "format": 1, "state": {**header["state"], "optimizer": opt}}
    bad = {**parts, "header": _header(told)}
    why = "ValueError: optimizer.lr must be in (0, 1e+06], got -1.0"
    with pytest.raises(ValueError, match=_cannot(why)):
        loads(_npz(**bad), s.config, s.n_samples)


def test_a_restored_run_keeps_its_clipping_and_counts_epochs_after_a_rewind() -> None:
    s = TrainingSession({"preset": "moons-mlp", "clip_norm": 0.5})
    s.step(10, evaluate="none")
    r = TrainingSession.restore(s.snapshot(), s.config)
    assert r.settings["clip_norm"] == 0.5
    r.set(clip_norm=0.25)
    r2 = TrainingSession.restore(r.snapshot(), r.config)
    assert r2.settings["clip_norm"] == 0.25
    # back to step 4 (rebuilt from the checkpoint at 0), then step 5: 5 * 32 / 200 rows
    r2.rewind(4)
    r2.step(1, evaluate="none")
    assert r2.recorded(5, 6, ["epoch"])["epoch"][0] == pytest.approx(0.8, abs=1e-12)


@pytest.mark.parametrize(("steps", "rows"), [(20, 1024), (1500, 1501)])
def test_a_restored_history_holds_1024_rows_or_exactly_the_run(steps: int, rows: int) -> None:
    """line has one layer: each row is 8 bytes for every scalar column and that layer."""
    s = TrainingSession({"preset": "line"})
    s.step(steps, evaluate="none")
    r = TrainingSession.restore(s.snapshot(), s.config)
    assert r._history.nbytes() == 8 * rows * (len(SCALARS) + 1)


def test_the_columns_and_header_are_deflated_and_the_states_stored() -> None:
    """The documented layout: every per-step column, the layer norms and the JSON header
    are deflated; parameters and optimizer buffers (which hardly deflate) are stored."""
    live = _run()  # rmsprop with momentum: its state has buffers beside theta
    with zipfile.ZipFile(io.BytesIO(live.snapshot())) as archive:
        how = {info.filename[:-4]: info.compress_type for info in archive.infolist()}
    deflated = {"header", "layer_grad_norms", *SCALARS}
    assert deflated <= set(how) and "state.theta" in how and "ckpt0.theta" in how
    states = [name for name in how if name.startswith(("state.", "ckpt"))]
    assert len(states) == len(how) - len(deflated) and "state.square_avg" in states
    for name in deflated:
        assert how[name] == zipfile.ZIP_DEFLATED, name
    for name in states:
        assert how[name] == zipfile.ZIP_STORED, name


def test_members_past_the_plain_zip_size_limit_are_written_as_zip64(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member's size is not known when it is opened, so every member is opened as
    zip64: one above zip's 4-byte limit (2 GiB) is still written. Simulated with that
    limit lowered to 1000 bytes: the snapshot is written and restores the run exactly."""
    live = _run()
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    data = live.snapshot()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert max(info.file_size for info in archive.infolist()) > 1000
    again = TrainingSession.restore(data, live.config)
    np.testing.assert_array_equal(again.params, live.params)
    np.testing.assert_array_equal(again.params_at([0, 123]), live.params_at([0, 123]))


def test_dumps_refuses_to_pickle_an_object_array() -> None:
    """A snapshot never holds a pickle: an array of Python objects is refused by NumPy's
    ``allow_pickle=False`` writer instead of being pickled into the archive."""
    live = _run()
    saved = loads(live.snapshot(), live.config, live.n_samples)
    saved.state.theta = saved.state.theta.astype(object)
    refused = r"^Object arrays cannot be saved when allow_pickle=False$"
    with pytest.raises(ValueError, match=refused):
        dumps(saved)
