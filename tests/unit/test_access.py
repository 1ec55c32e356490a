"""The access matrix (handoff/domain/access.py): its rules and its rendering in the docs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from handoff.domain import access

DOC = Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md"


@dataclass(frozen=True)
class Who:
    role: str
    grants: tuple[str, ...] = field(default=())


def test_the_docs_table_is_the_matrix() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- access-matrix:begin -->\n(.*?)<!-- access-matrix:end -->", text, re.S)
    assert found, "docs/access-matrix.md lost its markers"
    assert found.group(1) == access.render_markdown(), \
        "docs/access-matrix.md differs from handoff/domain/access.py: paste access.render_markdown()"


def test_roles_and_grants() -> None:
    attendant, manager, admin = Who("attendant"), Who("manager"), Who("admin")
    officer = Who("attendant", ("privacy_officer",))
    assert access.can(attendant, "view", "transcripts") and not access.can(attendant, "view", "metrics")
    assert access.can(manager, "export", "metrics") and not access.can(manager, "view", "audit")
    assert access.can(admin, "export", "audit") and access.can(admin, "change", "staff_admin")
    assert not access.can(attendant, "view", "audit")
    assert access.can(officer, "view", "audit") and access.can(officer, "export", "audit")
    assert access.can(officer, "change", "privacy_requests") and not access.can(officer, "view", "staff_admin")
    # Nobody changes the audit log; anonymous and the service token (None) do nothing.
    assert not any(access.can(Who(r, access.GRANTS), "change", "audit") for r in access.ROLES)
    assert not access.can(None, "view", "transcripts")
    # Unknown grants are ignored; unknown actions/categories are programming errors.
    assert not access.can(Who("attendant", ("superuser",)), "view", "audit")
    with pytest.raises(KeyError):
        access.can(admin, "delete", "audit")
    with pytest.raises(KeyError):
        access.can(admin, "view", "secrets")
    assert access.roles_allowed("view", "metrics") == ("manager", "admin")


def test_scope_and_reasons() -> None:
    attendant, wide, manager = Who("attendant"), Who("attendant", ("all_queues",)), Who("manager")
    assert not access.sees_all_queues(attendant)
    assert access.sees_all_queues(wide) and access.sees_all_queues(manager)
    assert not access.needs_reason(attendant, in_own_scope=True)
    assert access.needs_reason(wide, in_own_scope=False)
    assert not access.needs_reason(manager, in_own_scope=False)
    assert access.needs_reason(manager, in_own_scope=True, export=True)


@pytest.mark.parametrize("raw", [None, "", "  ", "ab", "x" * 301, 12, ["motivo"]])
def test_bad_reasons_are_refused_in_portuguese(raw: object) -> None:
    with pytest.raises(access.ReasonError, match="informe o motivo"):
        access.clean_reason(raw)


def test_reasons_are_cleaned() -> None:
    assert access.clean_reason("  pedido\n do titular\t nº 12 ") == "pedido do titular nº 12"
    assert access.clean_reason("x" * 300) == "x" * 300
