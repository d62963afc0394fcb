"""Mutation testing of core, landscape and service with mutmut 3 (``make mutate``).

Each package runs in its own stage, ``.mutmut/<package>/``: links to ``backend/gradscape``,
``tests`` and ``frontend``, and a copy of pyproject.toml whose ``[tool.mutmut]`` names that
package's files (``only_mutate``) and the fast tests that mirror it (never ``tests/e2e``
or ``tests/system``). mutmut copies the stage into ``mutants/`` there and imports
``gradscape`` from that copy (first on ``sys.path``), so the mutants are this work tree's
code whatever ``.venv``'s editable install points at. For each mutant mutmut runs only
the tests that called the mutated function.

    python tools/mutate.py                         # every mutant of the three packages
    python tools/mutate.py --sample 50 --seed 16   # a fixed-seed sample, split by size
    python tools/mutate.py --package landscape --sample 300
    python tools/mutate.py --rerun                 # only the last run's survivors, merged

A run writes ``.mutmut/results.json`` (every mutant's status) and ``.mutmut/report.txt``.
``--rerun`` runs again only the mutants that survived there (after new tests), with fresh
stats of which tests call what, and merges the verdicts: a mutant the old tests killed
stays killed, since tests are only ever added. Every mutant of a function whose source
changed since (a bug fixed) runs again too, since its mutants were renumbered; the old
verdicts of its names are dropped.

At the end: the surviving mutants per file (with their diff), the score per package
(killed / checked; mutants ``tests/MUTANTS.md`` lists as equivalent are left out of the
checked ones) with a 95 % Wilson interval for a sample, and the wall time.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGES = ROOT / ".mutmut"
#: package -> the tests that mirror it (the service floor is also driven through api/).
PACKAGES: dict[str, list[str]] = {
    "core": ["tests/core"],
    "landscape": ["tests/landscape"],
    "service": ["tests/service", "tests/api"],
}
#: mutmut's exit codes (mutmut.stats.status_by_exit_code) that count as detected.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
UNCHECKED = {"not checked", "skipped", "check was interrupted by user"}
#: The least score each package must reach (``--gate``; issue 16's floors).
FLOORS = {"core": 0.85, "landscape": 0.85, "service": 0.75}
MUTANT_NAME = re.compile(r"`(gradscape\.[\w.ǁ]+__mutmut_\d+)`")

GENERATE = """
from mutmut.__main__ import create_mutants
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
from pathlib import Path
Path("mutants").mkdir(exist_ok=True)
copy_src_dir()
copy_also_copy_files()
setup_source_paths()
create_mutants({children})
"""

IMPORT_PROBE = """
import importlib, json, pkgutil
import gradscape.{package} as pkg
for m in pkgutil.walk_packages(pkg.__path__, "gradscape.{package}."):
    importlib.import_module(m.name)
from mutmut.state import state
print(json.dumps(sorted(state()._stats)))
"""

DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for name in json.loads(sys.argv[1]):
    try:
        lines = get_diff_for_mutant(name).splitlines()
    except Exception as exc:  # a stage moved or changed since: say so, keep going
        lines = [f"- (no diff: {type(exc).__name__})"]
    out[name] = [l for l in lines if l[:1] in "+-" and l[:3] not in ("+++", "---")]
print(json.dumps(out))
"""


def stage(package: str, fresh: bool) -> Path:
    """``.mutmut/<package>/``: links to the sources and tests, and its pyproject.toml."""
    where = STAGES / package
    if fresh and where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True, exist_ok=True)
    for name, target in (
        ("gradscape", ROOT / "backend" / "gradscape"),
        ("tests", ROOT / "tests"),
        ("frontend", ROOT / "frontend"),  # api/app.py serves it from parents[3]
    ):
        link = where / name
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)
    # mutmut writes the mutants into mutants/, which PYTHONPATH names (``_env``). It must
    # exist before mutmut starts: Python caches a sys.path entry that is missing at start
    # as missing for good, and the stats run then fails ("No module named 'tests'").
    (where / "mutants").mkdir(exist_ok=True)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    base, _, rest = text.partition("\n[tool.mutmut]\n")
    common = rest.split("\n[", 1)[0] if rest else ""
    tests = json.dumps(PACKAGES[package])
    mutate = json.dumps([f"gradscape/{package}/*"])
    (where / "pyproject.toml").write_text(
        base.rstrip()
        + "\n\n[tool.mutmut]\n"
        + common.strip()
        + f"\nonly_mutate = {mutate}\npytest_add_cli_args_test_selection = {tests}\n"
        # tests that read the page find it beside tests/ (parents[2]): in mutants/ too
        + 'also_copy = ["frontend"]\n',
        encoding="utf-8",
    )
    return where


def _env(where: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The copy in mutants/ first: never the editable install's checkout.
    env["PYTHONPATH"] = str(where / "mutants")
    env.pop("MUTANT_UNDER_TEST", None)
    # One thread per BLAS / torch pool: mutmut forks its workers from a process that has
    # run torch, and a forked child that starts torch's OpenMP pool deadlocks.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = "1"
    return env


def _mutmut(where: Path, args: list[str], log: Path) -> int:
    exe = Path(sys.executable).with_name("mutmut")
    with log.open("ab") as out:
        return subprocess.run(
            [str(exe), *args], cwd=where, env=_env(where), stdout=out, stderr=out, check=False
        ).returncode


def statuses(where: Path, package: str) -> dict[str, str | None]:
    """Every mutant of ``package`` in the stage -> its mutmut status (None: not run)."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, str | None] = {}
    for meta in sorted((where / "mutants" / "gradscape" / package).rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in codes.items():
            out[name] = None if code is None else status_by_exit_code[code]
    return out


def hung(where: Path, package: str, seconds: float = 250.0) -> set[str]:
    """Mutants whose verdict took ``seconds`` or more: a kill by a hung test (the 300 s
    pytest-timeout of runs before the 60 s one) may be the fork's doing, not the mutant's."""
    out = set()
    for meta in (where / "mutants" / "gradscape" / package).rglob("*.py.meta"):
        durations = json.loads(meta.read_text(encoding="utf-8"))["durations_by_key"]
        out |= {name for name, took in durations.items() if took >= seconds}
    return out


def hashes(where: Path, package: str) -> dict[str, str]:
    """Each function of ``package`` in the stage -> mutmut's hash of its source. A function
    whose source changed has its mutants renumbered: the old verdicts of its names are
    about other mutants."""
    out = {}
    root = where / "mutants"
    for meta in (root / "gradscape" / package).rglob("*.py.meta"):
        module = ".".join(meta.relative_to(root).parts)[: -len(".py.meta")]
        for function, digest in json.loads(meta.read_text(encoding="utf-8"))[
            "hash_by_function_name"
        ].items():
            out[f"{module}.{function}"] = digest
    return out


def _function_of(name: str) -> str:
    """``gradscape.core.optim.x__lr`` of ``gradscape.core.optim.x__lr__mutmut_3``."""
    return name.rsplit("__mutmut_", 1)[0]


def changed_functions(old: dict[str, str] | None, new: dict[str, str]) -> set[str]:
    """The functions whose source differs from the last run's (or is new there); none
    when the last run recorded no hashes."""
    if old is None:
        return set()
    return {f for f, digest in new.items() if old.get(f) != digest}


def rerun_names(
    names: list[str], old: dict[str, str | None], slow: set[str], changed: set[str]
) -> list[str]:
    """What ``--rerun`` runs of ``names`` (every mutant of the stage): the last run's
    survivors, timeouts and kills by a hung test, and every mutant of a changed function."""
    return [
        n
        for n in names
        if _function_of(n) in changed
        or (n in old and (_survived(old[n]) or old[n] == "timeout" or n in slow))
    ]


def merged(
    old: dict[str, str | None], new: dict[str, str | None], names: set[str], changed: set[str]
) -> dict[str, str | None]:
    """The last run's verdicts overwritten by the rerun's, for the mutants that exist now;
    the old verdicts of a changed function's names are dropped (they were other mutants)."""
    kept = {n: v for n, v in old.items() if n in names and _function_of(n) not in changed}
    return {**kept, **new}


def equivalents() -> set[str]:
    """Mutants ``tests/MUTANTS.md`` lists as equivalent (each with its reason there)."""
    path = ROOT / "tests" / "MUTANTS.md"
    if not path.exists():
        return set()
    # only the "Equivalent mutants" section: the survivors still alive are listed too
    text = path.read_text(encoding="utf-8").partition("\n## Equivalent mutants\n")[2]
    return set(MUTANT_NAME.findall(text.split("\n## ", 1)[0]))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _module_of(name: str) -> str:
    """``gradscape.core.optim`` of ``gradscape.core.optim.x__lr__mutmut_3``."""
    return re.split(r"\.x[_ǁ]", name, maxsplit=1)[0]


def _file_of(name: str) -> str:
    return _module_of(name).replace(".", "/") + ".py"


def import_time_functions(where: Path, package: str) -> set[str]:
    """The package's functions that run while it is imported (mutmut's trampolines record
    them under ``MUTANT_UNDER_TEST=stats``)."""
    env = {**_env(where), "MUTANT_UNDER_TEST": "stats"}
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(package=package)],
        cwd=where / "mutants",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(out.stdout.splitlines()[-1])
    return set(found)


def fresh_check(where: Path, package: str, names: list[str], log: Path) -> dict[str, str]:
    """Each mutant's module tests in a new interpreter with the mutant on from the start.

    mutmut forks its workers from a process that has imported the package, so a mutant in
    code that runs at import (a table of hyperparameters built by a helper) is never
    switched on there and survives whatever the tests check. Here it is on before the
    import: the module's own test file (else the package's tests) runs against it."""
    verdicts = {}
    for name in names:
        module = _module_of(name).rsplit(".", 1)[-1]
        own = Path("tests") / package / f"test_{module}.py"
        tests = [str(own)] if (where / own).exists() else PACKAGES[package]
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        env = {**_env(where), "MUTANT_UNDER_TEST": name}
        with log.open("ab") as out:
            rc = subprocess.run(
                cmd, cwd=where / "mutants", env=env, stdout=out, stderr=out, check=False
            ).returncode
        # 1: a test failed; 2: the mutant broke collection (an import error): both detect it
        verdicts[name] = "killed" if rc in (1, 2) else "survived"
    return verdicts


def generate(package: str, children: int, log: Path) -> int:
    """Generate ``package``'s mutants in its stage (as ``mutmut run`` does); how many."""
    where = STAGES / package
    gen = [sys.executable, "-c", GENERATE.format(children=children)]
    with log.open("ab") as out:
        subprocess.run(gen, cwd=where, env=_env(where), stdout=out, stderr=out, check=True)
    return len(statuses(where, package))


def run_package(
    package: str,
    names: list[str] | None,
    children: int,
    log: Path,
    resume: bool = False,
    collect: bool = False,
    prior: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one package's mutants (all, or just ``names``); their statuses.

    ``resume`` (a kept stage): only the named mutants without a verdict yet are run;
    ``collect``: none are, the verdicts a stopped run left are recorded as they are.
    ``prior``: verdicts already in results.json (mutmut may have reset its own since)."""
    where = STAGES / package
    t0 = time.monotonic()
    todo = names
    known: dict[str, str | None] = {}
    if (resume or collect) and names is not None:
        known = {**statuses(where, package), **(prior or {})}
        todo = [] if collect else [n for n in names if known.get(n) is None]
    if todo != []:
        rc = _mutmut(where, ["run", "--max-children", str(children), *(todo or [])], log)
        if rc != 0:
            raise SystemExit(f"mutate: mutmut failed for {package} (exit {rc}); see {log}")
    found = statuses(where, package)
    total = len(found)
    if names is not None:
        ran = set(todo or [])
        found = {n: found[n] if n in ran or n not in known else known[n] for n in names}
    at_import = import_time_functions(where, package)
    again = [n for n, st in found.items() if _survived(st) and n.split("__mutmut_")[0] in at_import]
    fresh = fresh_check(where, package, again, log)
    found.update(fresh)
    return {
        "statuses": found,
        "seconds": time.monotonic() - t0,
        "total": total,
        "sampled": names is not None,
        "fresh": sorted(fresh),
        "hashes": hashes(where, package),
    }


def _diffs(where: Path, names: list[str]) -> dict[str, list[str]]:
    if not names:
        return {}
    out = subprocess.run(
        [sys.executable, "-c", DIFFS, json.dumps(names)],
        cwd=where,
        env=_env(where),
        capture_output=True,
        text=True,
        check=True,
    )
    diffs: dict[str, list[str]] = json.loads(out.stdout)
    return diffs


def report(
    results: dict[str, dict[str, Any]], wall: float, out: Path
) -> tuple[str, dict[str, float]]:
    """The survivors per file and the score per package, as text (also written to
    ``out``), and the scores."""
    equivalent = equivalents()
    lines, summary, scores = [], [], {}
    for package, r in results.items():
        found: dict[str, str | None] = r["statuses"]
        counts = Counter("not checked" if s is None else s for s in found.values())
        survivors = sorted(n for n, s in found.items() if _survived(s))
        listed = [n for n in survivors if n in equivalent]
        alive = [n for n in survivors if n not in equivalent]
        checked = sum(v for k, v in counts.items() if k not in UNCHECKED) - len(listed)
        killed = sum(v for k, v in counts.items() if k in KILLED)
        score = killed / checked if checked else float("nan")
        scores[package] = score
        diffs = _diffs(STAGES / package, alive)
        by_file: dict[str, list[str]] = defaultdict(list)
        for name in alive:
            by_file[_file_of(name)].append(name)
        lines.append(f"== {package}: surviving mutants per file ({len(alive)}) ==")
        for path in sorted(by_file):
            lines.append(f"{path}: {len(by_file[path])}")
            for name in by_file[path]:
                lines.append(f"  {name} [{found[name]}]")
                lines.extend(f"      {d}" for d in diffs.get(name, []))
        sampled = bool(r.get("sampled")) and len(found) < int(r["total"])
        what = f"sample of {len(found)} of {r['total']}" if sampled else f"all {len(found)}"
        extra = ""
        if sampled:
            lo, hi = wilson(killed, checked)
            extra = f", 95 % CI {100 * lo:.1f}-{100 * hi:.1f} %"
        tally = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        fresh = r.get("fresh", [])
        if fresh:
            won = sum(found.get(n) == "killed" for n in fresh)
            tally += f"; {len(fresh)} run at import, rechecked fresh: {won} killed"
        summary.append(
            f"{package:10s} {100 * score:5.1f} % killed ({killed}/{checked}; {what} mutants"
            f"{extra}; {len(listed)} listed equivalent; {tally}) in {r['seconds']:.0f} s"
        )
    text = "\n".join([*lines, "", "== mutation score ==", *summary, f"wall time {wall:.0f} s"])
    out.write_text(text + "\n", encoding="utf-8")
    return text, scores


def below_floor(scores: dict[str, float]) -> list[str]:
    """The packages whose score is under its floor (or could not be measured)."""
    return [p for p, sc in scores.items() if not sc >= FLOORS[p]]


def main(argv: list[str] | None = None) -> int:
    global STAGES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="append", choices=list(PACKAGES))
    parser.add_argument("--sample", type=int, help="mutants in all (split by package size)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rerun", action="store_true", help="only the last run's survivors")
    parser.add_argument("--mutant", action="append", help="only these mutants (fnmatch globs)")
    parser.add_argument("--keep", action="store_true", help="reuse the stages (mutmut's cache)")
    parser.add_argument("--stages", type=Path, default=STAGES, help="default: .mutmut/")
    parser.add_argument("--report", action="store_true", help="print the last results only")
    parser.add_argument(
        "--collect", action="store_true", help="with --keep: record a stopped run's verdicts"
    )
    parser.add_argument(
        "--gate", action="store_true", help="exit 1 when a package scores under its floor"
    )
    args = parser.parse_args(argv)
    STAGES = args.stages.resolve()
    packages = args.package or list(PACKAGES)
    STAGES.mkdir(exist_ok=True)
    log = STAGES / "mutmut.log"
    log.write_bytes(b"")
    saved = STAGES / "results.json"
    kept = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
    if args.report:
        print(report(kept, 0.0, STAGES / "report.txt")[0])
        return 0
    before = kept if args.rerun else {}
    t0 = time.monotonic()
    for package in packages:
        stage(package, fresh=not args.keep)
    picks: dict[str, list[str] | None] = dict.fromkeys(packages)
    changed: dict[str, set[str]] = {p: set() for p in packages}
    if args.sample is not None or args.rerun or args.mutant:
        sizes = {p: generate(p, args.max_children, log) for p in packages}
        for p in packages:
            names = sorted(statuses(STAGES / p, p))
            if args.rerun:  # survivors, timeouts, hung kills, and every changed function
                new = hashes(STAGES / p, p)
                changed[p] = changed_functions(before[p].get("hashes"), new)
                names = rerun_names(names, before[p]["statuses"], hung(STAGES / p, p), changed[p])
            if args.mutant:
                names = [n for n in names if any(fnmatch.fnmatch(n, g) for g in args.mutant)]
            if args.sample is not None:  # stratified: each package in proportion to its size
                share = max(1, round(args.sample * sizes[p] / sum(sizes.values())))
                rng = random.Random(f"{args.seed}:{p}")
                names = sorted(rng.sample(names, min(share, len(names))))
            picks[p] = names
    done: dict[str, dict[str, Any]] = {}
    for p in packages:
        if picks[p] == []:  # nothing to rerun
            if p in before:
                done[p] = {**before[p], "seconds": 0.0}
            continue
        resume = args.keep and args.sample is not None and not args.rerun
        prior = {n: v for n, v in kept.get(p, {}).get("statuses", {}).items() if v is not None}
        r = run_package(p, picks[p], args.max_children, log, resume, args.collect, prior)
        if resume and p in kept:
            r["fresh"] = sorted({*kept[p].get("fresh", []), *r["fresh"]})
        if p in before:  # merge: the old verdicts, overwritten by the rerun's
            now = set(statuses(STAGES / p, p))
            r = {
                **before[p],
                **{k: r[k] for k in ("total", "hashes") if k in r},
                "statuses": merged(before[p]["statuses"], r["statuses"], now, changed[p]),
                "seconds": r["seconds"],
                "fresh": sorted({*before[p].get("fresh", []), *r["fresh"]}),
            }
        done[p] = r
        # each package's last verdicts stay in results.json; this run's replace its own
        # (read again just before: another package may have finished meanwhile)
        kept = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
        kept[p] = r
        saved.write_text(json.dumps(kept, indent=1, ensure_ascii=False), encoding="utf-8")
    text, scores = report(done, time.monotonic() - t0, STAGES / "report.txt")
    print(text)
    low = below_floor(scores) if args.gate else []
    for p in low:
        print(f"mutate: {p} scored {100 * scores[p]:.1f} %, under its floor {FLOORS[p]:.0%}")
    return 1 if low else 0


def _survived(status: str | None) -> bool:
    return status is not None and status not in KILLED and status not in UNCHECKED


if __name__ == "__main__":
    sys.exit(main())
