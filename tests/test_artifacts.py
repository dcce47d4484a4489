"""Each flow run leaves a note a person can read in the Prefect UI: the chase a table of every agency's step."""

from __future__ import annotations

import json

from sqlmodel import Session

from flows.chase import chase_all_flow
from flows.open_cycle import open_cycle_flow
from models.partnership_file import parse
from models.store import load_partnership
from reportcycle.mailsink import MailSink
from tests.conftest import EXAMPLE
from tests.helpers import local


def _artifacts(flow_run_id: object) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key or "": a for a in found}


def test_a_chase_run_leaves_a_table_of_each_agencys_step(
    prefect: None, database_url: str, mail: MailSink, session: Session
) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    open_cycle_flow(at=local("2019-04-15", "09:00"))
    state = chase_all_flow(at=local("2019-05-13"), return_state=True)  # no run on 3 May: the 14-day step is late
    found = _artifacts(state.state_details.flow_run_id)
    assert sorted(found) == ["chase"]
    rows = json.loads(str(found["chase"].data))
    council = [r for r in rows if r["agency"] == "bcc"]
    assert council == [
        {
            "cycle": "bscb 2018/19",
            "agency": "bcc",
            "step": "reminder (reminder-14d)",
            "to": "harriet.lowe@bcc.example.org, dev.anand-shaw@bcc.example.org",
            "what": "superseded, not sent",
        },
        {
            "cycle": "bscb 2018/19",
            "agency": "bcc",
            "step": "reminder (reminder-7d)",
            "to": "harriet.lowe@bcc.example.org, dev.anand-shaw@bcc.example.org",
            "what": "queued",
        },
    ]
    assert len(rows) == 24 and sorted({r["what"] for r in rows}) == ["queued", "superseded, not sent"]

    from flows.collate import collate_flow

    collated = collate_flow(at=local("2019-05-14"), return_state=True)
    page = str(_artifacts(collated.state_details.flow_run_id)["collate"].data)
    assert page.startswith("**Collated draft 1**")
    assert "- no contribution (12): " in page and "[bold]" not in page
