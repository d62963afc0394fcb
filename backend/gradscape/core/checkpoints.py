"""Which past states a run keeps: a grid densest near the latest step, within a budget.

Any step is rebuilt by replaying from the nearest kept state at or before it, so the
spacing of the kept steps bounds the cost of a rebuild. Candidates are the multiples of
``every``. At step T the kept steps always include a complete *coarse grid*: every
multiple of ``s``, the largest ``every * 2**j`` not above ``replay_bound(T)`` (or coarser
when the byte budget forces it). That keeps any replay under ``s`` steps with at most
``T / s + 1 <= 64`` states. The remaining room holds *fine* states near T: a fine step c
whose largest grid spacing is ``l`` (the largest ``every * 2**j`` dividing c) scores
``(T - c) / l`` and the highest score goes first, so spacing doubles with age.

Over the byte budget with only the coarse grid left, its odd multiples go (oldest first)
and the grid doubles: with room for m states, a replay is then at most about
``max(replay_bound(T), 2 * T / m)`` steps. Step 0 always stays. A rewind keeps the
states up to its step: states thinned away are not rebuilt, so until the run regrows,
a replay is bounded by the grid of the longest the run has been.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gradscape.core.state import State

#: At most this many kept states per run (step 0 included).
MAX_CHECKPOINTS = 64
#: The default byte budget of one run's kept states.
CHECKPOINT_BYTES = 32 * 2**20
#: Rebuilding any step replays at most ``max(MIN_REPLAY, T // REPLAY_FRACTION)`` steps.
MIN_REPLAY = 1000
REPLAY_FRACTION = 32


def replay_bound(step_count: int) -> int:
    """The most steps a rebuild of any step of a T-step run should replay."""
    return max(MIN_REPLAY, step_count // REPLAY_FRACTION)


class Checkpoints(Mapping[int, State]):
    """Kept states by step (read as a mapping), thinned to the budget as the run grows."""

    def __init__(
        self, every: int, max_bytes: int = CHECKPOINT_BYTES, max_count: int = MAX_CHECKPOINTS
    ) -> None:
        self.every, self.max_bytes, self.max_count = every, max_bytes, max_count
        self._states: dict[int, State] = {}
        self._bytes = 0

    def __getitem__(self, step: int) -> State:
        return self._states[step]

    def __iter__(self) -> Iterator[int]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def nbytes(self) -> int:
        """Bytes held by the kept states."""
        return self._bytes

    def keep(self, state: State, step_count: int) -> None:
        """Keep a copy of ``state`` (a step of a run now at ``step_count``), then thin."""
        if state.step not in self._states:
            copy = state.copy()
            self._states[state.step] = copy
            self._bytes += copy.nbytes()
        self.thin(step_count)

    def load(self, states: Mapping[int, State], step_count: int) -> None:
        """Replace the kept states (e.g. from a snapshot), thinned for ``step_count``."""
        self._states = dict(states)
        self._bytes = sum(s.nbytes() for s in self._states.values())
        self.thin(step_count)

    def truncate(self, step: int) -> None:
        """Drop the states after ``step`` (a rewind)."""
        for k in [k for k in self._states if k > step]:
            self._drop(k)

    def nearest(self, step: int) -> int:
        """The latest kept step at or before ``step``."""
        return max(k for k in self._states if k <= step)

    def after(self, step: int) -> int | None:
        """The first kept step after ``step``, if any."""
        later = [k for k in self._states if k > step]
        return min(later) if later else None

    def _drop(self, step: int) -> None:
        self._bytes -= self._states.pop(step).nbytes()

    def _over(self) -> bool:
        return len(self._states) > self.max_count or self._bytes > self.max_bytes

    def thin(self, step_count: int) -> None:
        """Evict until within the count and byte budgets (step 0 is never evicted)."""
        while self._over() and len(self._states) > 1:
            spacing = self.grid(step_count)
            fine = [k for k in self._states if k % spacing]
            if not fine:  # only the grid is left: its odd multiples go, oldest first
                fine = [k for k in self._states if k % (2 * spacing)]
            self._drop(max(fine, key=lambda k: (self._score(k, step_count), -k)))

    def grid(self, step_count: int) -> int:
        """The coarse spacing at ``step_count``: the finest complete grid the bound allows."""
        bound, spacing = replay_bound(step_count), self.every
        while 2 * spacing <= bound:
            spacing *= 2
        while not all(k in self._states for k in range(0, step_count + 1, spacing)):
            spacing *= 2
        return spacing

    def _score(self, step: int, step_count: int) -> float:
        """Age over the step's own grid spacing: the highest is the least needed."""
        q = step // self.every
        return (step_count - step) / (self.every * (q & -q))
