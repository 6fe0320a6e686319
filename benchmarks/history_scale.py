"""How the report and the nightly check scale with history: N nights made from one real run (each
night a copy of its records with its own commit, time and run ids, 3% night-to-night noise on every
step time, a 15% slowdown on torch in the last three nights), then ``harness history --check`` and
``harness report`` timed on it, each in a fresh process (wall and CPU seconds, peak memory), with
the records' index (``<results>/.index``) not yet made (cold: the command builds it) and made.

    python benchmarks/history_scale.py --from results/runs/<machine>/<file>.jsonl --nights 10 100 365

The records of the run are the source; nothing is changed in them but the step times (all epoch
samples of a record scaled together), the commit, the time and the ids.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.store.index import INDEX_DIR  # noqa: E402

NOISE, STEP, SLOW_NIGHTS = 0.03, 0.15, 3


def make_nights(source: Path, out: Path, nights: int, seed: int = 0) -> int:
    """Write ``nights`` run files under ``out/runs``; return how many records."""
    rng = random.Random(seed)
    lines = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    start = datetime.fromisoformat(lines[0]["created_at"]) - timedelta(days=nights)
    machine = lines[0].get("machine", {}).get("machine_id", "box")
    folder = out / "runs" / machine
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for night in range(nights):
        commit = f"{night:08x}" + uuid.UUID(int=rng.getrandbits(128)).hex[:32]
        when = start + timedelta(days=night)
        level = 1 + rng.gauss(0, NOISE)
        body = []
        for record in lines:
            record = json.loads(json.dumps(record))
            factor = level * (1 + STEP if record["impl"] == "torch" and night >= nights - SLOW_NIGHTS else 1)
            timings = record["timings"]
            for key in ("epoch_s", "step_s"):
                timings[key] = [v * factor for v in timings.get(key) or [] if v is not None]
            if timings.get("first_epoch_s"):
                timings["first_epoch_s"] *= factor
            record |= {"git_commit": commit, "created_at": when.isoformat(timespec="seconds"),
                       "run_id": uuid.UUID(int=rng.getrandbits(128)).hex}  # fmt: skip
            body.append(json.dumps(record, separators=(",", ":")))
            count += 1
        (folder / f"{when:%Y%m%dT%H%M%S}000000Z-{commit[:12]}-default.jsonl").write_text(
            "\n".join(body) + "\n"
        )
    return count


def timed(argv: list[str]) -> dict[str, float]:
    """Wall and CPU seconds and peak RSS (MiB) of one fresh process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": done.returncode, "wall_s": wall, "cpu_s": cpu, "peak_mib": after.ru_maxrss / 1024,
            "tail": (done.stdout + done.stderr).strip().splitlines()[-1:]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, help="one real run's record file")
    parser.add_argument("--nights", type=int, nargs="+", default=[10, 100, 365])
    parser.add_argument("--skip-report", action="store_true", help="time history --check only")
    args = parser.parse_args()
    py = [sys.executable, "-m", "harness"]
    print("| nights | records | history --check, index cold: rc, wall s, CPU s, MiB | --check, index warm |"
          " report, index warm | report, index cold |")  # fmt: skip
    print("|---|---|---|---|---|---|")

    def cell(t: dict) -> str:
        return f"{t['rc']}, {t['wall_s']:.1f}, {t['cpu_s']:.1f}, {t['peak_mib']:.0f}"

    for nights in args.nights:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            records = make_nights(args.source, out, nights)
            check = [*py, "history", "--results", str(out), "--check"]
            report = [*py, "report", "--results", str(out), "--out", str(out / "index.html")]
            cold_check = timed(check)  # no index yet: this one builds it
            warm_check = timed(check)
            cells = [cell(cold_check), cell(warm_check)]
            if not args.skip_report:
                warm_report = timed(report)
                shutil.rmtree(out / INDEX_DIR)
                cells += [cell(warm_report), cell(timed(report))]
            print(f"| {nights} | {records} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
