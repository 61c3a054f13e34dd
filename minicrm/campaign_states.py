"""A campaign's statuses, in one place.

QUEUED → SEGMENTING → RUNNING (⇄ PAUSED) → COMPLETED, or FAILED from any status before
COMPLETED. A campaign is *delivered* when it is RUNNING or PAUSED with no pending message;
it reads COMPLETED only once its summary is written, in the statement that writes it, so
a COMPLETED campaign always has its summary. COMPLETED and FAILED are final.
"""

from __future__ import annotations

QUEUED, SEGMENTING, RUNNING, PAUSED, COMPLETED, FAILED = (
    "QUEUED", "SEGMENTING", "RUNNING", "PAUSED", "COMPLETED", "FAILED")
STATUSES = (QUEUED, SEGMENTING, RUNNING, PAUSED, COMPLETED, FAILED)
SENDING = (RUNNING, PAUSED)  # segmented; messages are out or waiting for the vendor
FINAL = (COMPLETED, FAILED)
