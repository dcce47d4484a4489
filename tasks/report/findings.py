"""A draft's collation findings in a few lines (Rich markup), for the terminal and the Prefect UI."""

from __future__ import annotations

from typing import Any

from rich.markup import escape


def summary_lines(summary: dict[str, Any], limit: int = 6) -> list[str]:
    """A few lines of Rich markup for the terminal from a draft's stored summary: each list cut to `limit`
    items, since the collation report page has them all. Older drafts lack the newer keys. Content is
    escaped: a "[" in an agency's text is not markup."""

    def names(items: list[str], sep: str = ", ") -> str:
        more = f" and {len(items) - limit} more" if len(items) > limit else ""
        return escape(sep.join(items[:limit])) + more

    lines = []
    labels = {
        "missing": "no contribution",
        "excused": "excused",
        "empty_sections": "empty sections",
        "over_limit": "over the word limit",
        "central_empty": "central sections not written",
        "pictures_without_alt": "pictures without alternative text",
        "pictures_missing": "pictures missing",
    }
    for key, label in labels.items():
        if summary.get(key):
            lines.append(f"[bold]{label}[/] ({len(summary[key])}): {names(summary[key], '; ')}")
    for gap in summary.get("priorities_uncovered") or []:
        lines.append(f"[bold]priorities not mentioned[/] by {escape(gap['agency'])}: {names(gap['priorities'], '; ')}")
    if "acronyms_undefined" not in summary:
        return lines
    if not summary["glossary"]:
        lines.append("[bold]glossary[/]: none found (a central section whose key or title says 'glossary')")
    undefined = [a["acronym"] for a in summary["acronyms_undefined"]]
    if undefined:
        lines.append(f"[bold]acronyms not in the glossary[/] ({len(undefined)}): {names(undefined)}")
    if summary["glossary_unused"]:
        unused = summary["glossary_unused"]
        lines.append(f"[bold]glossary entries never used[/] ({len(unused)}): {names(unused)}")
    links = [f"{b['where']}: {b['href']} ({b['problem']})" for b in summary["broken_links"]]
    if links:
        lines.append(f"[bold]broken links[/] ({len(links)}): {names(links, '; ')}")
    for missing in summary.get("recipients_missing") or []:
        lines.append(f"[bold]statutory recipients[/]: [red]{escape(missing)}[/]")
    if summary.get("framework") and not summary["guidance_topics"]:
        lines.append(f"[bold]statutory topics[/]: none under {escape(summary['framework'])}")
    for topic in summary["guidance_topics"]:
        where = [e["where"] for e in topic["found"]]
        found = f"{len(where)} place{'s' if len(where) > 1 else ''}, first {escape(where[0])}" if where else ""
        lines.append(f"[bold]{escape(topic['title'])}[/]: {found or '[red]not found[/]'}")
    return lines
