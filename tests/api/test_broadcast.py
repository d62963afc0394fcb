"""The broadcast's count of unread time: a run pauses only when no viewer reads it."""

from __future__ import annotations

from gradscape.api.broadcast import Broadcast, Viewer


def _hub(*waiting: float | None) -> Broadcast:
    hub = Broadcast.__new__(Broadcast)  # only the viewers matter here
    hub.viewers = {Viewer(waiting_since=w) for w in waiting}
    return hub


def test_one_viewer_reading_keeps_the_run_read_beside_a_stalled_one() -> None:
    assert _hub(40.0, None).unread_for(100.0) == 0.0  # one is caught up
    assert _hub(40.0, 99.9).unread_for(100.0) < 0.2  # one has a frame just published
    assert _hub(40.0, 70.0).unread_for(100.0) == 30.0  # both stalled: since the later one
    assert _hub().unread_for(100.0) == 0.0  # no viewer: the socket's close pauses it
