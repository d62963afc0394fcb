"""The guided lesson's stops: each one builds a run, points at a view and asks a question
whose answer the page reads from the run (never written into the stop)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gradscape.core.config import build
from gradscape.core.session import TrainingSession
from gradscape.service.lesson import KINDS, STOPS, VIEWS, lesson_stops

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
NUMBERED = [pytest.param(stop, id=f"stop{k}") for k, stop in enumerate(lesson_stops(), 1)]


def test_ten_to_fourteen_stops_numbered_from_one() -> None:
    stops = lesson_stops()
    assert 10 <= len(stops) <= 14
    assert [s["number"] for s in stops] == list(range(1, len(stops) + 1))
    assert len({s["idea"] for s in stops}) == len(stops)
    stops[0]["config"]["preset"] = "changed"
    assert STOPS[0]["config"]["preset"] != "changed"  # a copy each time


@pytest.mark.parametrize("stop", NUMBERED)
def test_every_stop_config_builds_and_runs(stop: dict[str, Any]) -> None:
    build(stop["config"])
    s = TrainingSession(stop["config"])
    run = stop["run"]
    assert set(run) in ({"steps"}, {"epochs"})
    assert isinstance(next(iter(run.values())), int) and next(iter(run.values())) >= 1
    s.step(min(run.get("steps", 1), 5))
    assert s.step_count >= 1


@pytest.mark.parametrize("stop", NUMBERED)
def test_every_stop_says_what_to_look_at_and_asks(stop: dict[str, Any]) -> None:
    assert stop["view"] in VIEWS
    assert stop["kind"] in KINDS
    assert set(stop["choices"]) <= set(KINDS[stop["kind"]]) and len(stop["choices"]) >= 2
    assert all(text.strip() for text in stop["choices"].values())
    sentences = [p for p in re.split(r"(?<=[.!?])\s+", stop["text"]) if p]
    assert 2 <= len(sentences) <= 4, stop["text"]
    assert stop["question"].endswith("?")
    assert set(stop) <= {"number", "idea", "config", "view", "text", "question", "kind",
                         "choices", "run", "options", "try"}  # fmt: skip


def test_every_kind_has_a_reader_in_the_page() -> None:
    src = (FRONTEND / "answers.js").read_text()
    for kind in KINDS:
        assert re.search(rf"^\s*{kind}: async \(", src, re.MULTILINE), kind


def test_logistic_regression_is_named_where_the_neuron_is() -> None:
    neuron = [s for s in lesson_stops() if s["config"] == {"preset": "pass-fail"}]
    assert any("logistic regression" in s["text"] for s in neuron)
    assert any(
        "logistic regression" in s["text"] for s in lesson_stops() if s["kind"] == "accuracy"
    )


def test_every_view_is_one_the_page_builds() -> None:
    layout = (FRONTEND / "layout.js").read_text()
    html = (FRONTEND / "index.html").read_text()
    for view in VIEWS:
        built = f'id: "{view}"' in layout or f'["{view}", ' in layout or f'id="{view}"' in html
        assert built, view
