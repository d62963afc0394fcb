"""Which past states a run keeps: a grid densest near the latest step, within a budget.

Any step is rebuilt by replaying from the nearest kept state at or before it, so the
spacing of the kept steps bounds the cost of a rebuild. Candidates are the multiples of
``every``. At step T the kept steps always include a complete *coarse grid*: every
multiple of ``s``, the largest rung ``base * 2**j`` of the ladder not above
``replay_bound(T)`` (or coarser when the byte budget forces it). That keeps any replay
under ``s`` steps with at most ``T / s + 1 <= 64`` states. The remaining room holds
*fine* states near T: a fine step c whose largest rung is ``l`` (the largest ``base *
2**j``, or below the base ``every * 2**j``, dividing c) scores ``(T - c) / l`` and the
highest score goes first, so spacing doubles with age.

Where T sits between two doublings of the grid decides how many of the 64 states it
uses: from 33 just after a doubling to 64 just before. A run that reaches the step cap
stays there, so ``ladder_base`` picks the base (a multiple of ``every`` up to
``MIN_REPLAY``) whose grid at the cap uses the most states: at 1,000,000 steps a base of
500 gives 63 states 16,000 apart, where a base of 100 gives 40 states 25,600 apart.

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


def rung(base: int, step_count: int) -> int:
    """The grid spacing at ``step_count`` when every state is at hand: the largest
    ``base * 2**j`` not above ``replay_bound(step_count)`` (``base`` itself if none is)."""
    bound, spacing = replay_bound(step_count), base
    while 2 * spacing <= bound:
        spacing *= 2
    return spacing


def ladder_base(every: int, max_steps: int, max_count: int = MAX_CHECKPOINTS) -> int:
    """The ladder's base for candidates ``every`` apart and runs of up to ``max_steps``:
    the multiple of ``every`` up to ``MIN_REPLAY`` whose grid at ``max_steps`` is the
    finest that fits ``max_count`` states (``every`` itself when it is above ``MIN_REPLAY``).
    """
    best, base = None, every
    for g in range(every, MIN_REPLAY + 1, every):
        spacing = rung(g, max_steps)
        if max_steps // spacing + 1 <= max_count and (best is None or spacing < best):
            best, base = spacing, g
    return base


class Checkpoints(Mapping[int, State]):
    """Kept states by step (read as a mapping), thinned to the budget as the run grows."""

    def __init__(
        self,
        every: int,
        max_bytes: int = CHECKPOINT_BYTES,
        max_count: int = MAX_CHECKPOINTS,
        base: int | None = None,
    ) -> None:
        self.every, self.max_bytes, self.max_count = every, max_bytes, max_count
        self.base = every if base is None else self._checked(base)
        self._states: dict[int, State] = {}
        self._bytes = 0

    def _checked(self, base: int) -> int:
        if isinstance(base, bool) or not isinstance(base, int) or base < 1 or base % self.every:
            raise ValueError(f"checkpoints: base {base!r} is not a multiple of {self.every}")
        return base

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

    def load(self, states: Mapping[int, State], step_count: int, base: int | None = None) -> None:
        """Replace the kept states (e.g. from a snapshot, kept on the ladder of ``base``:
        by default this one's), thinned for ``step_count``."""
        if base is not None:
            self.base = self._checked(base)
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
        spacing = rung(self.base, step_count)
        while not all(k in self._states for k in range(0, step_count + 1, spacing)):
            spacing *= 2
        return spacing

    def _score(self, step: int, step_count: int) -> float:
        """Age over the step's own rung: the highest is the least needed."""
        unit = self.base if step % self.base == 0 else self.every
        q = step // unit
        return (step_count - step) / (unit * (q & -q))
