"""The test harness (tests/support, kept out of the package) for the benchmark scripts, and where
they write their results."""

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.deployment import ADMIN_DSN, ROOT, Pipeline, deployment, eventually, vendor, vendor_stats

__all__ = ["ADMIN_DSN", "ROOT", "Pipeline", "deployment", "eventually", "save_result", "vendor", "vendor_stats"]


def save_result(kind: str, size: int, result: dict[str, Any]) -> Path:
    """Writes `result` to bench/results/<kind>-<size>-<time>.json; returns its path."""
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{kind}-{size}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    return path
