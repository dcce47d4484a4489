"""The collation report: what a draft still needs, for the business manager, beside each draft.

Built from the same `ReportView` the draft is rendered from, plus the draft's own HTML (for the ids its
links can point at). It lists:

- agencies missing or excused, empty sections (the required ones apart), sections over the word limit,
  pictures without alternative text: the view's `Completeness`, reused;
- acronyms used but not in the glossary, and glossary entries never used (see `find_acronyms` and
  `parse_glossary` for what counts);
- broken internal links: `#fragment` links to no id in the draft, links and pictures naming one of our
  own pictures that is not stored, and relative links to pages outside the report;
- where the draft seems to cover each topic the statutory guidance asks a yearly report to cover.

The topic search is KEYWORD EVIDENCE for a person to check, not a judgement: a phrase found may be used
in passing, and a topic may be covered in words no list foresees. It says where to look.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from html import escape as html_escape
from pathlib import Path
from typing import Any

from rich.markup import escape

from models.framework import framework_for, report_topics
from models.partnership_file import GuidanceTopic
from models.values import Recipient
from tasks.contributions.images import SRC
from tasks.mail.render import environment
from tasks.report.content_gate import Holdback, find_holdbacks
from tasks.report.glossary import is_glossary, parse_glossary
from tasks.report.html_text import ids_in, read_html
from tasks.report.report import CentralView, ReportView

# A children's partnership's topics (Working Together), kept by this name for code written before
# frameworks; build_collation_report takes the cycle's own framework.
DEFAULT_TOPICS: tuple[GuidanceTopic, ...] = framework_for(None).topics

# Abbreviations every reader of a public report knows, which a glossary entry would not help. Kept short on
# purpose: "UK", "EU" and "NHS" are everyday words; "HM" is part of a title ("HM Government", "HM Prison").
# Everything else an agency uses, however familiar inside safeguarding (CSE, MASH, GP), is jargon to a
# parent reading the report, so it belongs in the glossary. A partnership sets its own with
# `[report.collation] common_acronyms = [...]`.
COMMON_ACRONYMS: tuple[str, ...] = ("UK", "EU", "NHS", "HM")

# An acronym is a run of capitals (with digits, "&" and inner hyphens: "KS2", "A&E", "CP-IS") holding at least
# two capital letters, optionally followed by a plural "s" ("CCGs" is the plural of "CCG"). Mixed-case
# abbreviations ("DfE", "CiN") are not found: they cannot be told from ordinary words by their shape.
# A hyphen after the token is allowed ("CSE-related" uses CSE); a hyphen and a capital continue it instead.
ACRONYM = re.compile(r"(?<![\w&])([A-Z][A-Z0-9&]*(?:-[A-Z0-9&]+)*)(s?)(?![\w&])")
ROMAN_NUMERAL = re.compile(r"^[IVXLC]+$")  # "Part II", "Phase IV": numbers, not acronyms


@dataclass(frozen=True)
class Place:
    """A chapter or section of the draft: "Agency: Section" or a central section's title, and its anchor."""

    where: str
    anchor: str
    html: str
    # The section's own title, searched for the statutory topics as well: "Safeguarding Adults Reviews:
    # findings acted on" is evidence even when the text under it never repeats those words.
    heading: str = ""


@dataclass
class Acronym:
    acronym: str
    uses: int
    where: list[str]
    spelled_out: str = ""  # the words before its first "(ACRONYM)" in the text, to help write the entry


@dataclass
class BrokenLink:
    where: str
    href: str
    problem: str


@dataclass
class Evidence:
    where: str
    anchor: str
    phrases: list[str]
    excerpt: str


@dataclass
class TopicFinding:
    key: str
    title: str
    asks: str
    found: list[Evidence] = field(default_factory=list)  # empty: "not found"


@dataclass
class CollationReport:
    draft_number: int | None
    glossary: str  # the glossary section's title, "" when the draft has none
    empty_required_sections: list[str]
    acronyms_undefined: list[Acronym]
    glossary_unused: list[str]
    broken_links: list[BrokenLink]
    guidance_topics: list[TopicFinding]
    # The framework the topics come from ("Working Together to Safeguard Children (2018)"); "" when the
    # partnership file gives its own topics.
    framework: str = ""
    # Each statutory role of the framework no recipient holds ("no recipient is the Local Healthwatch");
    # None when the recipients were not checked.
    recipients_missing: list[str] | None = None
    # Per agency with a contribution, the priorities it does not name: {"agency": name, "priorities": [...]}.
    priorities_uncovered: list[dict[str, Any]] = field(default_factory=list)
    # What holds publication back (tasks.report.content_gate): illustrative figures, notes for the business
    # manager, placeholder addresses, broken links.
    holdbacks: list[Holdback] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The keys added to the draft's stored summary (JSON)."""
        found = asdict(self)
        del found["draft_number"]
        return found


def find_acronyms(text: str, common: Iterable[str] = COMMON_ACRONYMS) -> list[str]:
    """Every acronym in a text, in order, plurals folded to the singular ("CCGs" -> "CCG")."""
    skip = set(common)
    found = []
    for match in ACRONYM.finditer(text):
        token = match[1]
        if sum(ch.isupper() for ch in token) < 2 or token in skip or ROMAN_NUMERAL.match(token):
            continue
        found.append(token)
    return found


def _defined(glossary: dict[str, str]) -> set[str]:
    """The acronyms a glossary explains: each term, its singular, and each acronym inside a term of several
    words ("BSOL CCG" also explains "BSOL" and "CCG" to a reader who looks it up)."""
    names: set[str] = set()
    for term in glossary:
        names.add(term)
        names.update(find_acronyms(term, common=()))
    return names


def _term_used(term: str, text: str) -> bool:
    # Exact case; singular or plural ("FGCs" is used by "FGC"); not inside a longer token ("CP" is not used
    # by "CP-IS").
    base = term[:-1] if term.endswith("s") and term[-2:-1].isupper() else term
    return re.search(rf"(?<![\w&-]){re.escape(base)}s?(?![\w&]|-[A-Z])", text) is not None


CONNECTORS = frozenset({"and", "of", "the", "for", "in", "on", "to", "&", "with", "at"})


def spelled_out(acronym: str, text: str) -> str:
    """The words an author wrote before "(ACRONYM)", matched letter by letter from the end: "Child Abuse
    Investigation Unit (CAIU)" gives "Child Abuse Investigation Unit"; small words ("and", "of") may sit
    between. "" when there is no such place or the words do not fit the letters."""
    letters = [ch for ch in acronym.upper() if ch.isalpha()]
    # Find "(ACRONYM)" first and look back from it: a pattern for "up to 12 words, then (ACRONYM)" would be
    # tried at every position of the whole draft (seconds per acronym).
    for match in re.finditer(rf"\({re.escape(acronym)}s?\)", text):
        before = text[max(0, match.start() - 200) : match.start()].split("\n")[-1]
        words = _fit([w.strip(",'’") for w in before.split()[-12:]], letters)
        if words:
            return " ".join(words)
    return ""


def _fit(words: list[str], letters: list[str]) -> list[str] | None:
    """The last words whose initials spell `letters`, small words allowed between them but not first."""
    if not letters:
        return []
    if not words:
        return None
    word = words[-1]
    initials = [part[0].upper() for part in word.split("-") if part]
    if initials and len(initials) <= len(letters) and initials == letters[len(letters) - len(initials) :]:
        before = _fit(words[:-1], letters[: len(letters) - len(initials)])
        if before is not None and (before or word.lower() not in CONNECTORS):
            return [*before, word]
    if word.lower() in CONNECTORS:
        before = _fit(words[:-1], letters)
        if before:
            return [*before, word]
    return None


# --- the statutory topics ------------------------------------------------------------------------------


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words, any spacing; a word ending in "*" matches any ending ("evaluat*": evaluated, evaluation);
    case ignored unless the phrase has two or more capitals (an acronym)."""
    words = r"\s+".join(
        re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in phrase.replace("’", "'").split()
    )
    flags = 0 if sum(ch.isupper() for ch in phrase) >= 2 else re.IGNORECASE
    return re.compile(rf"(?<![\w]){words}(?![\w])", flags)


def _excerpt(text: str, start: int, end: int, width: int = 80) -> str:
    left, right = max(0, start - width), min(len(text), end + width)
    snippet = " ".join(text[left:right].split())
    return ("…" if left else "") + snippet + ("…" if right < len(text) else "")


def find_topics(places: list[Place], topics: Iterable[GuidanceTopic]) -> list[TopicFinding]:
    texts = [(p, read_html(p.html).text()) for p in places]
    findings = []
    for topic in topics:
        finding = TopicFinding(topic.key, topic.title, topic.asks)
        patterns = [(phrase, phrase_pattern(phrase)) for phrase in topic.phrases]
        for place, text in texts:
            hits = [(phrase, m) for phrase, pattern in patterns if (m := pattern.search(text))]
            titled = {phrase for phrase, pattern in patterns if pattern.search(place.heading)}
            if hits:
                first = min((m for _, m in hits), key=lambda m: m.start())
                excerpt = _excerpt(text, first.start(), first.end())
            elif titled:
                excerpt = f"(the section's title) {place.heading}"
            else:
                continue
            found = {p for p, _ in hits} | titled
            finding.found.append(Evidence(place.where, place.anchor, [p for p in topic.phrases if p in found], excerpt))
        findings.append(finding)
    return findings


# --- links ---------------------------------------------------------------------------------------------


def find_broken_links(places: list[Place], ids: set[str], pictures: set[str]) -> list[BrokenLink]:
    """Links inside the content that lead nowhere in the draft. `pictures` are the stored pictures' names."""
    broken = []
    for place in places:
        parsed = read_html(place.html)
        for href in parsed.hrefs:
            if href.startswith("#"):
                if href[1:] not in ids:
                    broken.append(BrokenLink(place.where, href, "no part of the report has this id"))
            elif href.startswith("/images/"):
                if not SRC.match(href) or href.removeprefix("/images/") not in pictures:
                    broken.append(BrokenLink(place.where, href, "no such picture is stored"))
            elif not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE):
                broken.append(BrokenLink(place.where, href, "a relative address: the report is a single page"))
        for src in parsed.srcs:
            if src.removeprefix("/images/") not in pictures:
                broken.append(BrokenLink(place.where, src, "no such picture is stored: upload it again or remove it"))
    return broken


# --- the whole report ----------------------------------------------------------------------------------


def _central_places(c: CentralView) -> list[Place]:
    """A central section's text, then each of its figures (their titles and labels are read too)."""
    places = [Place(c.title, c.key, str(c.html), c.title)]
    for f in c.figures:
        rows = "".join(f"<p>{escape(label)}</p>" for label, _ in f.rows)
        places.append(Place(f"Figure {f.number}: {f.title}", f"figure-{f.key}", f"<p>{escape(f.title)}</p>{rows}"))
    return places


def places_of(view: ReportView) -> list[Place]:
    """Every piece of content in the draft, in reading order, with where it is."""
    places = [p for c in view.central_before for p in _central_places(c)]
    for contribution in view.contributions:
        places += [
            Place(f"{contribution.name}: {s.title}", f"agency-{contribution.slug}", str(s.html), s.title)
            for s in contribution.sections
        ]
    places += _register_places(view)
    places += [p for c in view.central_after for p in _central_places(c)]
    return places


def _register_places(view: ReportView) -> list[Place]:
    """The reviews register's tables as places, each titled with its table's heading, so the statutory
    topics about reviews find it as evidence (a finding "not implemented", reviews "ongoing")."""
    r = view.reviews
    if r is None:
        return []

    def html(rows: Iterable[Iterable[object]]) -> str:
        return "".join("<p>" + " ".join(html_escape(str(x)) for x in row) + "</p>" for row in rows)

    where = r.words.plural
    concluded = [(name, *findings) for name, _, _, findings in r.concluded]
    ongoing = [(name, "ongoing at the end of the year") for name, _ in r.ongoing]
    tables: list[tuple[str, str, Sequence[Iterable[object]]]] = [
        ("reviews-concluded", "findings of reviews concluded in the year", concluded),
        ("reviews-ongoing", "reviews ongoing at the end of the year", ongoing),
        ("reviews-implemented", "findings implemented: actions taken", r.implemented),
        ("reviews-not-implemented", "findings not implemented, and the reasons for the decision", r.not_implemented),
    ]
    return [
        Place(f"{where}: {heading}", anchor, html(rows), f"{where}: {heading}")
        for anchor, heading, rows in tables
        if rows
    ]


def holdbacks_of(view: ReportView, draft_html: str, broken: list[BrokenLink] | None = None) -> list[Holdback]:
    """What in this draft stops its publication, each with where it is (see tasks.report.content_gate)."""
    body = places_of(view)
    if broken is None:
        broken = find_broken_links(body, ids_in(draft_html), set(view.images))
    figures = [
        (f.key, f"Figure {f.number}: {f.title}", c.title, f.illustrative)
        for c in [*view.central_before, *view.central_after]
        for f in c.figures
    ]
    return find_holdbacks(
        [(p.where, p.anchor, p.html) for p in body], figures, [(b.where, b.href, b.problem) for b in broken]
    )


def build_collation_report(
    view: ReportView, draft_html: str, recipients: Sequence[Recipient] | None = None
) -> CollationReport:
    """What the business manager should look at in this draft. `draft_html` is the rendered draft page;
    `recipients`, the cycle's, are checked against the framework's statutory roles when given."""
    # Imported here: distribution reaches the outbox and the digest, which the rest of this module never needs.
    from tasks.report.distribution import roles_missing

    checks = view.spec.collation
    common = COMMON_ACRONYMS if checks.common_acronyms is None else checks.common_acronyms
    central: list[CentralView] = [*view.central_before, *view.central_after]
    glossary_keys = {c.key for c in central if is_glossary(c.key, c.title)}
    glossaries = [p for p in places_of(view) if p.anchor in glossary_keys]
    glossary = parse_glossary("".join(p.html for p in glossaries))
    # The glossary's own terms are not uses of them.
    body = [p for p in places_of(view) if p.anchor not in glossary_keys]
    texts = [(p, read_html(p.html).text()) for p in body]
    defined = _defined(glossary)
    uses: dict[str, list[str]] = {}
    for place, text in texts:
        for token in find_acronyms(text, common):
            if token not in defined:
                uses.setdefault(token, []).append(place.where)
    every_text = "\n".join(t for _, t in texts)
    undefined = [
        Acronym(name, len(where), list(dict.fromkeys(where)), spelled_out(name, every_text))
        for name, where in sorted(uses.items())
    ]
    empty_required = [
        f"{c.name}: {s.title}"
        for c in view.contributions
        if c.revision is not None
        for s in c.sections
        if s.required and not str(s.html).strip()
    ]
    broken = find_broken_links(body, ids_in(draft_html), set(view.images))
    return CollationReport(
        draft_number=view.draft_number,
        glossary=", ".join(p.where for p in glossaries),
        empty_required_sections=empty_required,
        acronyms_undefined=undefined,
        glossary_unused=sorted(term for term in glossary if not _term_used(term, every_text)),
        broken_links=broken,
        guidance_topics=find_topics(body, report_topics(view.spec)),
        framework=framework_for(view.spec.kind).title if checks.topics is None else "",
        recipients_missing=None if recipients is None else roles_missing(recipients, view.spec.kind),
        priorities_uncovered=[
            {"agency": c.name, "priorities": c.priorities_uncovered}
            for c in view.contributions
            if c.revision is not None and c.status != "excused" and c.priorities_uncovered
        ],
        holdbacks=holdbacks_of(view, draft_html, broken),
    )


def report_page_path(draft_path: Path) -> Path:
    """The collation report beside its draft: draft-3.html -> draft-3-report.html."""
    return draft_path.with_name(f"{draft_path.stem}-report.html")


def render_collation_report(
    templates_dir: Path, view: ReportView, report: CollationReport, completeness: dict[str, Any], draft_name: str
) -> str:
    return (
        environment(templates_dir)
        .get_template("report/collation_report.html")
        .render(view=view, found=report, k=completeness, draft=draft_name, fw=framework_for(view.spec.kind))
    )
