"""The few calls to a Prefect server's REST API that a command needs, over httpx, without importing Prefect.

Why not Prefect's own client: importing `prefect` costs 1.2-1.5 s on this machine, more than a command's
whole budget beside the rest of its work. A command run by hand records its run with these calls (flow run,
states, logs, artifacts, tags), and `status` reads runs with them; the deployments that `reportcycle serve`
runs still go through Prefect's engine. The request bodies are Prefect 3's published API schemas
(`/api/docs` on any server); the tests run them against a real Prefect server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import httpx

TIMEOUT = 10.0


class PrefectApiError(Exception):
    """The Prefect server refused or did not answer a call."""


def _jsonable(value: Any) -> Any:
    # What Prefect's own client stores for our parameters: ISO date-times, plain values, else the text.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _headers() -> dict[str, str]:
    # Prefect Cloud (or a server behind a key) takes a bearer key; a self-hosted server with basic auth its string.
    key = os.environ.get("PREFECT_API_KEY")
    if key:
        return {"Authorization": f"Bearer {key}"}
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        import base64

        return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    return {}


class PrefectApi:
    """A Prefect 3 server at `url` (its API root, ending in /api)."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=_headers())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrefectApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise PrefectApiError(f"the Prefect server at {self.url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            answer = f"{response.status_code} {response.text[:200]}"
            raise PrefectApiError(f"{method} {path}: the Prefect server answered {answer}")
        return response.json() if response.content else None

    # -- recording a run ------------------------------------------------------------------------------------

    def start_flow_run(self, flow: str, name: str, parameters: dict[str, Any], tags: list[str]) -> str:
        """A flow run in state Running, for a flow named `flow` (created on first use, as Prefect does)."""
        flow_id = self._call("POST", "/flows/", {"name": flow})["id"]
        body = {
            "flow_id": flow_id,
            "name": name,
            "parameters": _jsonable(parameters),
            "tags": tags,
            "state": {"type": "RUNNING", "name": "Running"},  # the server stamps its time
        }
        return str(self._call("POST", "/flow_runs/", body)["id"])

    def set_state(self, run_id: str, kind: str, *, name: str | None = None, message: str | None = None) -> None:
        """Set a run's state (COMPLETED, FAILED, CRASHED, CANCELLED...) as the outcome, whatever it was before."""
        state: dict[str, Any] = {"type": kind, "name": name or kind.title(), "message": message}
        self._call("POST", f"/flow_runs/{run_id}/set_state", {"state": state, "force": True})

    def rename(self, run_id: str, name: str) -> None:
        self._call("PATCH", f"/flow_runs/{run_id}", {"name": name})

    def logs(self, run_id: str, records: list[tuple[str, int, str, dt.datetime]]) -> None:
        """Log lines (logger name, level, message, time) on the run, where the Prefect UI shows them."""
        if records:
            body = [
                {"name": name, "level": level, "message": message, "timestamp": at.isoformat(), "flow_run_id": run_id}
                for name, level, message, at in records
            ]
            self._call("POST", "/logs/", body)

    def artifact(self, run_id: str, key: str, kind: str, data: Any, description: str | None = None) -> None:
        """A markdown page or a table (`kind` "markdown" or "table") on the run's Artifacts tab."""
        payload = data if isinstance(data, str) else json.dumps(_jsonable(data))
        body = {"key": key, "type": kind, "data": payload, "description": description, "flow_run_id": run_id}
        self._call("POST", "/artifacts/", body)

    # -- reading runs ---------------------------------------------------------------------------------------

    def flow_runs(
        self,
        *,
        states: list[str] | None = None,
        tags: list[str] | None = None,
        flows: list[str] | None = None,
        sort: str = "ID_DESC",
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Flow runs as the API returns them (dicts), filtered by state type, tags (all of) and flow name."""
        runs: dict[str, Any] = {}
        if states:
            runs["state"] = {"type": {"any_": states}}
        if tags:
            runs["tags"] = {"all_": tags}
        body: dict[str, Any] = {"sort": sort, "limit": limit, "flow_runs": runs or None}
        if flows:
            body["flows"] = {"name": {"any_": flows}}
        found: list[dict[str, Any]] = self._call("POST", "/flow_runs/filter", body)
        return found

    def deployment_names(self) -> dict[str, str]:
        return {d["id"]: d["name"] for d in self._call("POST", "/deployments/filter", {"limit": 200})}

    def count_flow_runs(self, tag: str) -> int:
        return int(self._call("POST", "/flow_runs/count", {"flow_runs": {"tags": {"all_": [tag]}}}))


def when(value: str | None) -> dt.datetime | None:
    """A time as the API writes it."""
    return dt.datetime.fromisoformat(value) if value else None
