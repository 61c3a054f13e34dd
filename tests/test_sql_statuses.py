"""Statuses in SQL are written from `campaign_states`, never spelled out: a statement cannot
drift from the state machine (its constants, the tables' CHECK constraints, the API's enums).

A status in single quotes inside a string of the package is SQL's spelling of it, so every
string constant of every module (`campaign_states` aside, docstrings aside) is scanned for one;
`f"status = '{states.RUNNING}'"` is the way to write it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from minicrm import campaign_states as states

PACKAGE = Path(states.__file__).parent
QUOTED = re.compile("'(" + "|".join(sorted(set(states.STATUSES) | set(states.MESSAGE_STATUSES))) + ")'")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != Path(states.__file__))


def docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def quoted_statuses(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each status in single quotes in a string of `source`, the literal
    parts of f-strings included."""
    tree = ast.parse(source)
    skipped = docstrings(tree)
    return [
        (node.lineno, match.group(0))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
        for match in QUOTED.finditer(node.value)
    ]


def test_no_module_spells_out_a_status_in_sql():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {literal}"
        for path in modules()
        for line, literal in quoted_statuses(path.read_text())
    ]
    assert found == [], "write statuses from campaign_states (f-strings with its constants):\n" + "\n".join(found)


def test_the_sql_package_is_among_the_modules_scanned():
    scanned = modules()
    assert PACKAGE / "sql" / "campaigns.py" in scanned and PACKAGE / "sql" / "receipts.py" in scanned
    assert PACKAGE / "campaign_states.py" not in scanned


def test_a_status_written_into_a_statement_is_found():
    assert quoted_statuses("X = \"UPDATE campaigns SET status = 'RUNNING' WHERE id = $1\"") == [(1, "'RUNNING'")]
    assert quoted_statuses(
        "X = f\"\"\"\nSELECT 1 FROM communication_log l\nWHERE l.status IN ('PENDING', 'SENT')"
        ' AND l.campaign_id = {c}"""'
    ) == [(1, "'PENDING'"), (1, "'SENT'")]
    assert quoted_statuses("def f():\n    return conn.execute(\"DELETE FROM campaigns WHERE status = 'QUEUED'\")") == [
        (2, "'QUEUED'")
    ]


def test_a_status_from_campaign_states_is_not():
    assert quoted_statuses("X = f\"UPDATE campaigns SET status = '{states.RUNNING}' WHERE id = $1\"") == []
    assert quoted_statuses('def f():\n    """Moves it to \'RUNNING\'."""') == []  # a docstring runs nothing
    assert quoted_statuses('X = "RUNNING"') == []  # a Python value, not SQL's spelling
