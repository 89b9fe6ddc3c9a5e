"""What the benchmarks share: which product they run (this checkout or a reference commit), the
product's embedded settings and server, and before/after comparisons in one run.

`--baseline GIT_REF` (bench/ocr_pipeline.py, bench/search.py, bench/viewer.py; bench/routing.py
uses `checkout` and `cli_module`): the reference is a temporary git worktree of that commit,
run with this checkout's virtualenv. The benchmark runs itself as child processes on the same
input, the reference and the current code taking turns (`--baseline-rounds N` turns each);
each child imports the product from its own tree (EAKTE_BENCH_PRODUCT) and writes its figures
as JSON; the parent prints both and current/reference for every figure.

A reference from before issue 14 has the older module layout (records/config.py instead of
core/config.py, api/cli.py instead of app/cli.py, ...). `use_product` maps the current module
names to the old ones in such a tree (OLD_LAYOUT), so a benchmark imports by the current names
only and this table is the one place that knows the difference.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
BENCH_SECRET = "bench-only-secret-key-0123456789"
# The folder whose product packages a benchmark process imports (unset: this checkout).
PRODUCT_ENV = "EAKTE_BENCH_PRODUCT"

# Current module -> the module that held the same code before issue 14's restructuring.
OLD_LAYOUT = {
    "core.config": "records.config",
    "core.dates": "records.dates",
    "core.db": "records.db",
    "core.errors": "records.errors",
    "records.schema": "records.db",  # migrate()
    "records.file_exports": "records.exports",
    "app.runtime": "records.runtime",
    "app.cli": "api.cli",
    "app.serve": "api.serve",
    "app.demo": "api.demo",
    "app.product": "web.app",
    "ingest.filing": "ingest.routing",
}

# The product on the embedded defaults: SQLite in the data folder, local blobs, embedded index.
EMBEDDED = {"demo": False, "database_url": None, "blob_store": "local", "search_index": "embedded"}


# --- which product a process runs ----------------------------------------------------------


def product_root() -> Path:
    return Path(os.environ.get(PRODUCT_ENV) or REPO).resolve()


def _has_module(root: Path, name: str) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def module_name(name: str, root: Path | None = None) -> str:
    """`name` as the product in `root` calls it (the old name in an old layout)."""
    root = root or product_root()
    if name in OLD_LAYOUT and not _has_module(root, name):
        return OLD_LAYOUT[name]
    return name


def cli_module(root: Path | None = None) -> str:
    """The module of the product's command line (`python -m ...`) in `root`."""
    return module_name("app.cli", root)


class _OldLayout(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of current module names answered by the modules of an old layout."""

    def __init__(self, root: Path) -> None:
        self.aliases = {new: old for new, old in OLD_LAYOUT.items() if not _has_module(root, new)}
        self.packages = {new.rpartition(".")[0] for new in self.aliases}
        self.packages = {p for p in self.packages if not _has_module(root, p)}
        self._specs: dict[str, object] = {}

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if fullname in self.aliases:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        if spec.name in self.packages:
            return None  # an empty package that holds the aliases
        module = importlib.import_module(self.aliases[spec.name])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__spec__.name if module.__spec__ else ""
        if name in self._specs:  # the import system set the alias's spec: put the real one back
            module.__spec__ = self._specs.pop(name)  # type: ignore[assignment]


def use_product() -> Path:
    """Put the product's tree (PRODUCT_ENV, else this checkout) on the import path, with the
    old layout's names mapped when it has one; the test helpers always come from this
    checkout's tests/. Returns the tree."""
    root = product_root()
    if root != REPO and "tests" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "tests",
            REPO / "tests" / "__init__.py",
            submodule_search_locations=[str(REPO / "tests")],
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules["tests"] = package
        spec.loader.exec_module(package)
    # First on the path (before bench/, whose search.py would hide the product's package);
    # a reference's process does not see this checkout's packages at all.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (root, REPO)]
    sys.path.insert(0, str(root))
    finder = _OldLayout(root)
    if finder.aliases and not any(isinstance(f, _OldLayout) for f in sys.meta_path):
        sys.meta_path.insert(0, finder)
    return root


# --- the product on the embedded defaults --------------------------------------------------


def embedded_settings(data_dir: Path, **values: object):  # type: ignore[no-untyped-def]
    """The product's settings on the embedded defaults in `data_dir`, plus `values`."""
    from core.config import Settings

    return Settings(**{**EMBEDDED, "secret_key": BENCH_SECRET, "data_dir": data_dir, **values})


def product_env(settings, **values: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """This process's environment without EAKTE_*, then `settings` (embedded) and `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EAKTE_")}
    env.update(
        EAKTE_DATA_DIR=str(settings.data_dir),
        EAKTE_SECRET_KEY=settings.secret_key.get_secret_value(),
        EAKTE_DEMO="false",
        EAKTE_DATABASE_URL=settings.resolved_database_url,
        EAKTE_BLOB_STORE=settings.blob_store,
        EAKTE_SEARCH_INDEX=settings.search_index,
    )
    env.update(values)
    return env


def start_cli(args: Sequence[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m <the product's cli> ARGS` from the product's tree, output to `log_path`."""
    root = product_root()
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", cli_module(root), *args],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 60) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def remove(folder: Path, *, keep: bool) -> None:
    if keep:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


# --- the reference commit ------------------------------------------------------------------


def checkout_baseline(ref: str) -> Path:
    """The product as it was at `ref`, in a temporary git worktree (same virtualenv)."""
    target = Path(tempfile.mkdtemp(prefix="eakte-baseline-"))
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(target), ref],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


def remove_baseline(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
        check=False,
        capture_output=True,
    )
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    path = checkout_baseline(ref)
    try:
        yield path
    finally:
        remove_baseline(path)


def add_baseline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also run the same input through the product as it was at this commit (a "
        "temporary git worktree), in this run, and print both figures and current/reference",
    )
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=1,
        metavar="N",
        help="with --baseline: reference and current take turns N times; medians are compared",
    )


def _without(argv: Sequence[str], options: Sequence[str]) -> list[str]:
    """`argv` without the given options and their values (`--opt value` or `--opt=value`)."""
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item in options:
            skip = True
        elif not any(item.startswith(f"{option}=") for option in options):
            kept.append(item)
    return kept


@dataclass(frozen=True)
class Figure:
    """One reported figure of a run: `better` is "lower", "higher" or "same" (a count that
    must not change, such as hits)."""

    label: str
    value: float | None
    unit: str = ""
    better: str = "lower"


def _run_side(script: Path, argv: list[str], root: Path, label: str) -> dict:
    with tempfile.NamedTemporaryFile(prefix="bench-side-", suffix=".json", delete=False) as out:
        path = Path(out.name)
    env = dict(os.environ)
    env[PRODUCT_ENV] = str(root)
    print(f"\n=== {label}: {' '.join([script.name, *argv])}", flush=True)
    try:
        subprocess.run(
            [sys.executable, str(script), *argv, "--json", str(path)], env=env, check=True
        )
        return json.loads(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)


def _verdict(figure: Figure, reference: float | None, current: float | None) -> str:
    if reference is None or current is None:
        return ""
    if figure.better == "same":
        return "same" if current == reference else "CHANGED"
    if current == reference:
        return "same"
    better = current < reference if figure.better == "lower" else current > reference
    return "better" if better else "worse"


def compare(
    script: str,
    argv: Sequence[str] | None,
    args: argparse.Namespace,
    figures: Callable[[dict], list[Figure]],
    reference_args: Sequence[str] = (),
) -> int:
    """Run `script` with its command line `argv` (None: this process's) on the reference
    commit `args.baseline` and on this checkout, taking turns `args.baseline_rounds` times;
    print every figure of both with current/reference (and write them to `args.json`).
    `reference_args` are added for the reference only (to leave out what does not depend on
    the product)."""
    ref, rounds, json_path = args.baseline, args.baseline_rounds, args.json
    path = Path(script).resolve()
    argv = _without(
        sys.argv[1:] if argv is None else argv, ("--baseline", "--baseline-rounds", "--json")
    )
    runs: dict[str, list[dict]] = {"reference": [], "current": []}
    with checkout(ref) as root:
        for turn in range(1, rounds + 1):
            runs["reference"].append(
                _run_side(path, [*argv, *reference_args], root, f"reference {ref}, turn {turn}")
            )
            runs["current"].append(_run_side(path, argv, REPO, f"current, turn {turn}"))
    per_side = {
        side: [{f.label: f for f in figures(summary)} for summary in done]
        for side, done in runs.items()
    }
    rows = []
    print()
    print(
        f"Same input, same run: reference {ref} against this checkout "
        f"({rounds} turn(s) each{', medians' if rounds > 1 else ''}); ratio = current/reference"
    )
    print(f"{'figure':<58}{'reference':>12}{'current':>12}{'ratio':>8}  verdict")
    for figure in per_side["current"][0].values():

        def median(side: str, label: str = figure.label) -> float | None:
            values = [run[label].value for run in per_side[side] if label in run]
            present = [v for v in values if v is not None]
            return statistics.median(present) if present else None

        reference, current = median("reference"), median("current")
        ratio = current / reference if reference and current is not None else None
        verdict = _verdict(figure, reference, current)
        shown = [
            "-" if value is None else f"{value:.4g}" if abs(value) < 10 else f"{value:.1f}"
            for value in (reference, current)
        ]
        label = f"{figure.label} ({figure.unit})" if figure.unit else figure.label
        ratio_text = f"{ratio:.3f}" if ratio is not None else "-"
        print(f"{label:<58}{shown[0]:>12}{shown[1]:>12}{ratio_text:>8}  {verdict}")
        rows.append(
            {
                "figure": label,
                "better": figure.better,
                "reference": reference,
                "current": current,
                "ratio": ratio,
                "verdict": verdict,
            }
        )
    if json_path:
        json_path.write_text(
            json.dumps({"baseline": ref, "comparison": rows, **runs}, indent=2, default=str) + "\n",
            encoding="utf-8",
        )
    return 0
