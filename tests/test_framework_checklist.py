"""The framework's checklist for the desk, for an adults board: the Care Act's (a)-(g), with the reviews register's
tables as evidence for the ones about reviews; each statutory role with who holds it (nobody is the Local
Healthwatch); the register in numbers."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from models.partnership_file import parse
from models.store import find_cycle, load_partnership
from tasks.desk.framework_checklist import RegisterSummary, RoleCheck, checklist
from tasks.report.register import add_finding, add_review, set_outcome
from tests.helpers import local
from tests.test_frameworks import WESTSHIRE

REGISTER = "Safeguarding Adults Reviews"
COUNCIL = "Westshire County Council"


def test_an_adults_boards_checklist_with_the_register_as_evidence(session: Session) -> None:
    at = local("2026-04-01")
    load_partnership(session, parse(WESTSHIRE), at=at, actor="t")
    cycle = find_cycle(session)
    add_review(session, cycle, "SAR Adult D", dt.date(2025, 6, 1), None, at=at, actor="t")  # ongoing at year end
    concluded = add_review(session, cycle, "SAR Adult E", dt.date(2024, 6, 1), dt.date(2025, 11, 1), at=at, actor="t")
    finding = add_finding(session, concluded, "Housing was not told of the risk.", at=at, actor="t")
    set_outcome(session, finding, "not-implemented", "The housing register already flags it.", at=at, actor="t")
    session.flush()

    found = checklist(session, cycle, at=at)
    assert found.framework == "the Care Act 2014, Schedule 2, paragraph 4"
    assert {t.key: [e.where.removeprefix(f"{REGISTER}: ") for e in t.found] for t in found.topics} == {
        "objective": [],  # no agency has written yet
        "strategy": [],
        "members": [],
        "sar-findings": [
            "findings of reviews concluded in the year",
            "reviews ongoing at the end of the year",
            "findings not implemented, and the reasons for the decision",
        ],
        "sars-ongoing": ["reviews ongoing at the end of the year"],
        "sar-actions": [],
        "sar-not-implemented": ["findings not implemented, and the reasons for the decision"],
    }
    assert found.found == 3
    assert found.roles == [
        RoleCheck(
            "the local authority's chief executive", ["Helen Margetts, Chief Executive of Westshire County Council"]
        ),
        RoleCheck(
            "the leader of the local authority", ["Councillor Bryn Holloway, Leader of Westshire County Council"]
        ),
        RoleCheck(
            "the local policing body (the Police and Crime Commissioner)",
            ["Westshire Police and Crime Commissioner, Local policing body"],
        ),
        RoleCheck("the Local Healthwatch", []),
        RoleCheck(
            "the chair of the Health and Wellbeing Board",
            ["Dr Yusuf Carraway, Chair of the Westshire Health and Wellbeing Board"],
        ),
    ]
    assert found.register == RegisterSummary(REGISTER, concluded=1, ongoing=1, findings=1, undecided=0)
