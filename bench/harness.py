"""The test harness (tests/support, kept out of the package) for the benchmark scripts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.deployment import ADMIN_DSN, ROOT, Pipeline, deployment, eventually, vendor, vendor_stats

__all__ = ["ADMIN_DSN", "ROOT", "Pipeline", "deployment", "eventually", "vendor", "vendor_stats"]
