"""Service benchmark against a live loopback server: latency, streaming rate, memory.

    .venv/bin/python bench/service.py

Prints ratios measured in the same run (no absolute threshold gates anything).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.system import clients
from tests.system.server import Server


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def latency(client: httpx.Client, url: str, body: dict, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = client.post(url, json=body)
        out.append(time.perf_counter() - t0)
        r.raise_for_status()
    return out


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1e3


def rest(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        sid = c.post("/api/sessions", json={"preset": "pass-fail"}).json()["id"]
        health = [0.0] * 50
        for i in range(50):
            t0 = time.perf_counter()
            c.get("/api/health")
            health[i] = time.perf_counter() - t0
        one = latency(c, f"/api/sessions/{sid}/step", {"steps": 1}, 200)
        thousand = latency(c, f"/api/sessions/{sid}/step", {"steps": 1000, "evaluate": "none"}, 30)
        print(f"REST  /api/health            p50 {p(health, 0.5):6.2f} ms")
        print(
            f"REST  step 1 (neuron)         p50 {p(one, 0.5):6.2f} ms  p95 {p(one, 0.95):6.2f} ms"
        )
        ratio = statistics.median(thousand) / statistics.median(one)
        print(
            f"REST  step 1000 (neuron)      p50 {p(thousand, 0.5):6.2f} ms"
            f"  p95 {p(thousand, 0.95):6.2f} ms -> x{ratio:.1f} the 1-step call for 1000x the steps"
        )


async def stream_rate(server: Server, preset: str, seconds: float = 5.0) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        sid = (await c.post("/api/sessions", json={"preset": preset})).json()["id"]
    uri = server.url.replace("http", "ws") + f"/api/sessions/{sid}/stream"
    async with websockets.connect(uri, max_size=2**20) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "play"}))
        first = last = None
        frames, biggest = 0, 0
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            raw = await ws.recv()
            msg = json.loads(raw)
            if msg["type"] == "steps":
                frames += 1
                biggest = max(biggest, len(raw))
                first = msg["from"] if first is None else first
                last = msg["to"]
        await ws.send(json.dumps({"type": "pause"}))
    steps = (last or 0) - (first or 0) + 1
    print(
        f"WS    {preset:<11} {steps / seconds:9.0f} steps/s delivered,"
        f" {frames / seconds:5.1f} frames/s, largest frame {biggest / 1024:5.1f} KiB"
    )


def surface(server: Server) -> None:
    from gradscape.core.session import TrainingSession
    from gradscape.landscape.directions import make_plane
    from gradscape.landscape.surface import surface as compute

    with httpx.Client(base_url=server.url, timeout=120) as c:
        config = {"preset": "moons-mlp", "data": {"n_samples": 512}}
        sid = c.post("/api/sessions", json=config).json()["id"]
        c.post(f"/api/sessions/{sid}/step", json={"steps": 500})
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = c.post(f"/api/sessions/{sid}/surface", json={"mode": "random", "resolution": 201})
            r.raise_for_status()
            times.append(time.perf_counter() - t0)
    s = TrainingSession({"preset": "moons-mlp", "data": {"n_samples": 512}})
    s.step(500)
    ds = s.dataset
    assert ds is not None
    traj = s.trajectory(fields=["params"])["params"]
    plane = make_plane("random", s.model, ds.X, ds.y, traj, center="final", seed=0)
    alone = []
    for _ in range(3):
        t0 = time.perf_counter()
        compute(s.model, ds.X, ds.y, plane, resolution=201, path=traj)
        alone.append(time.perf_counter() - t0)
    total, bare = min(times), min(alone)
    print(
        f"HTTP  surface G=201 MLP       {total * 1e3:7.1f} ms end to end vs {bare * 1e3:7.1f} ms"
        f" landscape alone (x{total / bare:.2f}); {len(r.content) / 1e6:.2f} MB of JSON"
    )


def memory(server: Server) -> None:
    """RSS of the live server (coarse: the allocator reuses freed pages) and, exactly,
    tracemalloc of the same session objects in this process."""
    import tracemalloc

    from gradscape.core.session import TrainingSession

    assert server.proc is not None
    pid = server.proc.pid
    with httpx.Client(base_url=server.url, timeout=120) as c:
        before = rss_kib(pid)
        for _ in range(10):
            sid = c.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
            body = {"steps": 10_000, "evaluate": "none", "fields": ["step"]}
            c.post(f"/api/sessions/{sid}/step", json=body)
        busy = (rss_kib(pid) - before) / 10
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    idle = [TrainingSession({"preset": "moons-mlp"}) for _ in range(50)]
    per_idle = (tracemalloc.get_traced_memory()[0] - base) / len(idle)
    s = TrainingSession({"preset": "moons-mlp"})
    start = tracemalloc.get_traced_memory()[0]
    s.step(10_000, evaluate="none")
    per_10k = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    print(f"MEM   idle MLP session        {per_idle / 1024:7.1f} KiB (tracemalloc, incl. its data)")
    print(
        f"MEM   10k steps of MLP        {per_10k / 1024:7.1f} KiB more (tracemalloc);"
        f" server RSS grew {busy:7.0f} KiB per 10k-step session"
    )


BIG = {
    "data": {"name": "moons", "n_samples": 10_000, "noise": 0.2},
    "model": {"hidden": [256, 256, 64], "activation": "tanh"},
    "optimizer": {"name": "adam", "lr": 0.001},
    "batch_size": 32,
}


def _train(c: httpx.Client, sid: str, steps: int) -> None:
    body = {"steps": steps, "evaluate": "none", "fields": ["step"]}
    while steps > 0:
        body["steps"] = min(steps, 10_000)  # ordinary calls: no huge transient responses
        c.post(f"/api/sessions/{sid}/step", json=body).raise_for_status()
        steps -= body["steps"]


def _db_bytes(db: Path) -> int:
    return sum(f.stat().st_size for f in db.parent.glob(db.name + "*") if f.is_file())


def worst_step(config: dict, steps: int) -> int:
    """The step whose rebuild replays the most at ``steps``: the one just before the
    widest gap between kept states (the run's checkpoint policy, on stand-in states
    of its states' size)."""
    from gradscape.core.checkpoints import Checkpoints
    from gradscape.core.session import TrainingSession

    s = TrainingSession(config)
    s.step(1, evaluate="none")
    trainer = s._trainer
    size, every = trainer.state.nbytes(), trainer.checkpoint_every

    class Stub:
        def __init__(self, step: int) -> None:
            self.step = step

        def copy(self) -> Stub:
            return self

        def nbytes(self) -> int:
            return size

    kept = Checkpoints(every, trainer.checkpoints.max_bytes, base=trainer.checkpoints.base)
    for k in range(0, steps + 1, every):
        kept.keep(Stub(k), k)  # type: ignore[arg-type]
    ks = sorted([*kept, steps])
    gap, start = max((b - a, a) for a, b in itertools.pairwise(ks))
    return start + gap - 1


def growth(tmp: Path, config: dict, steps: int, label: str) -> None:
    """What one run adds to the server at ``steps`` (RSS, database bytes), its bytes a
    step between half-way and the end, the worst rebuild of one step, and the restore
    time after a restart."""
    db = tmp / f"{label}.db"
    server = Server(str(db)).start()
    assert server.proc is not None
    marks = []
    try:
        with httpx.Client(base_url=server.url, timeout=600) as c:
            rss0, disk0 = rss_kib(server.proc.pid), _db_bytes(db)
            sid = c.post("/api/sessions", json=config).json()["id"]
            one = latency(c, f"/api/sessions/{sid}/step", {"steps": 1, "evaluate": "none"}, 20)
            t0 = time.perf_counter()
            for target in (steps // 2, steps):
                _train(c, sid, target - c.get(f"/api/sessions/{sid}").json()["step"])
                marks.append((rss_kib(server.proc.pid) - rss0, _db_bytes(db) - disk0))
            rate = (steps - 20) / (time.perf_counter() - t0)
            worst, where = 0.0, 0
            for k in (worst_step(config, steps), steps // 2 + 7, steps // 3 + 11, 1):
                t0 = time.perf_counter()
                q = {"start": k, "stop": k + 1, "fields": "params"}
                c.get(f"/api/sessions/{sid}/trajectory", params=q).raise_for_status()
                took = time.perf_counter() - t0
                worst, where = max((worst, where), (took, k))
    finally:
        server.stop()  # SIGTERM: the final snapshot is written
    disk_final = _db_bytes(db) - disk0
    again = Server(str(db), port=server.port).start()
    try:
        t0 = time.perf_counter()
        httpx.get(f"{again.url}/api/sessions/{sid}", timeout=600).raise_for_status()
        restore = time.perf_counter() - t0
    finally:
        again.stop()
    half = steps - steps // 2
    per_rss = (marks[1][0] - marks[0][0]) * 1024 / half
    per_disk = (marks[1][1] - marks[0][1]) / half
    print(
        f"GROW  {label:9s} {steps:,} steps ({rate:,.0f} steps/s): server RSS"
        f" +{marks[1][0] / 1024:6.1f} MiB, database {disk_final / 2**20:6.2f} MiB;"
        f" second half {per_rss:5.0f} B RSS and {per_disk:5.0f} B on disk a step"
    )
    print(
        f"GROW  {label:9s} worst rebuild of one step {worst * 1e3:7.1f} ms at step {where:,}"
        f" (x{worst / statistics.median(one):.0f} one step call);"
        f" restore after restart {restore * 1e3:7.1f} ms"
    )


BIG_FULL = {**BIG, "batch_size": None}  # ~0.3 s a step: a 100,000-step call is ~8 h


def fairness(tmp: Path) -> None:
    """Other sessions' GET p95 while two ``steps: 100000`` big-model calls run, as a
    ratio to its resting p95; how the calls end; SIGTERM-to-exit with both in flight."""
    import threading

    budget = 10.0
    server = Server(str(tmp / "fair.db"), env={"GRADSCAPE_MAX_CALL_SECONDS": str(budget)})
    server.start()
    assert server.proc is not None

    def gets(c: httpx.Client, sid: str, seconds: float) -> list[float]:
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            c.get(f"/api/sessions/{sid}").raise_for_status()
            out.append(time.perf_counter() - t0)
            time.sleep(0.01)
        return out

    def calls(sids: list[str], out: list[tuple[float, dict]]) -> list[threading.Thread]:
        def one(sid: str) -> None:
            t0 = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=None) as c:
                body = {"steps": 100_000, "evaluate": "none"}
                r = c.post(f"/api/sessions/{sid}/step", json=body)
            out.append((time.monotonic() - t0, r.json() if r.status_code == 200 else {}))

        threads = [threading.Thread(target=one, args=(sid,)) for sid in sids]
        for t in threads:
            t.start()
        return threads

    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            small = c.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
            big = [c.post("/api/sessions", json=BIG_FULL).json()["id"] for _ in range(4)]
            rest = gets(c, small, 3.0)
            ended: list[tuple[float, dict]] = []
            threads = calls(big[:2], ended)
            time.sleep(0.5)
            busy = gets(c, small, budget - 2)
            for t in threads:
                t.join()
            ratio = p(busy, 0.95) / p(rest, 0.95)
            print(
                f"FAIR  GET p95 beside two 100k-step big-model calls {p(busy, 0.95):6.1f} ms"
                f" vs {p(rest, 0.95):5.1f} ms resting (x{ratio:.1f});"
                " calls ended after "
                + ", ".join(f"{s:.1f} s ({b.get('step')} steps, {b.get('truncated_reason')})"
                            for s, b in ended)
            )  # fmt: skip
            threads = calls(big[2:], [])
            time.sleep(2.0)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=60)
        print(f"FAIR  SIGTERM to exit with two big calls in flight {time.monotonic() - t0:5.2f} s")
        for t in threads:
            t.join()
    finally:
        server.stop()


def viewers(server: Server) -> float:
    """Steps/s of one played moons-mlp session with 1, 30 and 100 sockets reading it."""
    rates = {
        n: asyncio.run(clients.played_rate(server.url, "moons-mlp", n, 4.0)) for n in (1, 30, 100)
    }
    one = rates[1]
    print(
        f"WS    moons-mlp played, viewers 1 / 30 / 100: {one:7.0f} /"
        f" {rates[30]:7.0f} / {rates[100]:7.0f} steps/s"
        f" (x{rates[30] / one:.2f}, x{rates[100] / one:.2f} of one viewer)"
    )
    return one


def paced(server: Server, flat_out: float) -> None:
    """100 sessions side by side, each asking 50 steps/s: the rate each gets. moons-mlp
    asks 5,000 steps/s in all, more than one core makes (``flat_out``: one session
    played as fast as frames allow), so its figure is also given as that share."""
    for preset in ("pass-fail", "moons-mlp"):
        rates = sorted(asyncio.run(clients.paced_rates(server.url, preset, 100, 50.0, 4.0)))
        median = statistics.median(rates)
        share = f"; all together x{sum(rates) / flat_out:.2f} of one played flat out"
        print(
            f"WS    100 x {preset:<9} asking 50 steps/s: median {median:5.1f},"
            f" worst {rates[0]:5.1f} (x{median / 50:.2f}, worst x{rates[0] / 50:.2f} of the"
            f" asked rate{share if preset == 'moons-mlp' else ''})"
        )


def wide_csv(server: Server) -> None:
    """Refusing a 100,000-column CSV (1.1 MB) against parsing a valid 64-column one of
    the same size: the checks count columns first and are linear."""
    wide = ",".join(f"c{j}" for j in range(100_000)) + "\n" + ",".join(["1"] * 100_000)
    row = ",".join(["0.5"] * 64)
    rows = max(1, len(wide) // len(row))
    narrow = ",".join(f"c{j}" for j in range(64)) + "\n" + "\n".join([row] * rows)
    times = {}
    with httpx.Client(base_url=server.url, timeout=600) as c:
        for name, text, code in (("wide", wide, 422), ("narrow", narrow, 200)):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                r = c.post("/api/datasets/csv", json={"csv": text})
                best = min(best, time.perf_counter() - t0)
                assert r.status_code == code, r.text[:200]
            times[name] = best
    print(
        f"CSV   100,000 columns refused in {times['wide'] * 1e3:6.1f} ms vs a valid 64-column"
        f" CSV of the same size parsed in {times['narrow'] * 1e3:6.1f} ms"
        f" (x{times['wide'] / times['narrow']:.2f})"
    )


def main() -> None:
    if os.environ.get("GRADSCAPE_BENCH_ONLY") == "growth":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            steps = int(os.environ.get("GRADSCAPE_BENCH_STEPS", "1000000"))
            growth(Path(tmp), {"preset": "moons-mlp"}, steps, "moons-mlp")
        return
    # Many sessions from one address: the per-client quota is off.
    env = {"GRADSCAPE_MAX_SESSIONS": "10000", "GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "0"}
    server = Server(":memory:", env=env).start()
    try:
        if os.environ.get("GRADSCAPE_BENCH_ONLY") == "fair":
            paced(server, viewers(server))
            return
        rest(server)
        asyncio.run(stream_rate(server, "pass-fail"))
        asyncio.run(stream_rate(server, "moons-mlp"))
        paced(server, viewers(server))
        surface(server)
        wide_csv(server)
        memory(server)
    finally:
        server.stop()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        steps = int(os.environ.get("GRADSCAPE_BENCH_STEPS", "1000000"))
        growth(Path(tmp), {"preset": "moons-mlp"}, steps, "moons-mlp")
        growth(Path(tmp), BIG, max(100, steps // 100), "big model")
        fairness(Path(tmp))


if __name__ == "__main__":
    main()
