"""The partnership's forms on the desk, as data: each field's name (its id, and its key in the partnership file),
label, kind and hint; and each list of the file the desk edits item by item (priorities, recipients, the brief's
sections and key figures) with its place in the file and the words for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | email | number | textarea | checkbox
    hint: str = ""
    group: str = ""  # a fieldset legend: fields with the same group are drawn together
    width: str = ""  # a GOV.UK input width class, like "govuk-input--width-10"


@dataclass(frozen=True)
class Collection:
    """A list in the partnership file the desk edits item by item."""

    name: str  # in the address: /desk/{cycle}/partnership/{name}/...
    path: tuple[str, ...]  # where the list is in the file
    noun: str  # "priority"
    key: str  # the field that names an item
    fields: tuple[FormField, ...]
    heading: str = ""
    intro: str = ""

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        node: Any = data
        for part in self.path:
            node = node[part]
        return node  # type: ignore[no-any-return]

    def value(self, form: Any) -> dict[str, Any]:
        """The item as the partnership file would hold it; the file's rules judge it, not this."""
        item: dict[str, Any] = {}
        for f in self.fields:
            typed = str(form.get(f.name, "")).strip()
            if f.kind == "checkbox":
                item[f.name] = bool(form.get(f.name))
            elif f.kind == "number":
                item[f.name] = typed or None  # left empty: no limit
            else:
                item[f.name] = typed
        return item


KEY_HINT = "Lower-case letters, digits and hyphens; the reports and the audit log name it by this."
COLLECTIONS = {
    c.name: c
    for c in (
        Collection(
            "priorities",
            ("priorities",),
            "priority",
            "key",
            (
                FormField("key", "Key", hint=KEY_HINT, width="govuk-input--width-20"),
                FormField("title", "Title", hint="As the report and the agencies' forms show it."),
            ),
            heading="Priorities",
            intro="The Board's priorities for the year: a section of the brief marked per priority asks each agency "
            "to report against each one.",
        ),
        Collection(
            "recipients",
            ("recipients",),
            "recipient",
            "email",
            (
                FormField("name", "Name"),
                FormField("email", "Email address", kind="email"),
                FormField("role", "Role", hint="Why they receive the report, like Leader of the Council."),
                FormField(
                    "national",
                    "A national body",
                    kind="checkbox",
                    hint="Sent the report within the framework's days of publication.",
                ),
            ),
            heading="Statutory recipients",
            intro="Who the published report is sent to, as the law asks.",
        ),
        Collection(
            "sections",
            ("brief", "sections"),
            "section of the brief",
            "key",
            (
                FormField("key", "Key", hint=KEY_HINT, width="govuk-input--width-20"),
                FormField("title", "Title"),
                FormField("guidance", "Guidance", kind="textarea", hint="What the agencies are asked to write here."),
                FormField(
                    "word_limit",
                    "Word limit",
                    kind="number",
                    hint="Leave empty for no limit.",
                    width="govuk-input--width-5",
                ),
                FormField("required", "Every agency must write it", kind="checkbox"),
                FormField("per_priority", "Written against each priority", kind="checkbox"),
            ),
            heading="The brief: sections",
            intro="What every agency is asked to write, section by section.",
        ),
        Collection(
            "figures",
            ("brief", "key_figures"),
            "key figure",
            "key",
            (
                FormField("key", "Key", hint=KEY_HINT, width="govuk-input--width-20"),
                FormField("label", "Label", hint="Like Staff trained in safeguarding adults."),
                FormField("unit", "Unit", hint="Like staff, or leave empty.", width="govuk-input--width-10"),
                FormField("required", "Every agency must give it", kind="checkbox"),
            ),
            heading="The brief: key figures",
            intro="Numbers each agency gives beside its text; the report shows them as a table.",
        ),
    )
}

ROLES = ("lead", "deputy", "senior")
ROLE_WORDS = {
    "lead": "Lead contact (writes the contribution, gets every reminder)",
    "deputy": "Deputy (gets the request and reminders too; optional)",
    "senior": "Senior officer (escalations go to them; optional)",
}
AGENCY_FIELDS = (
    FormField("slug", "Short name", hint=KEY_HINT, width="govuk-input--width-20"),
    FormField("name", "Name", hint="As the report names it."),
    FormField(
        "aliases",
        "Other names",
        kind="textarea",
        hint="One a line: names it goes by in past reports, for importing them. Optional.",
    ),
    *(
        FormField(f"{role}-{part}", label, kind="email" if part == "email" else "text", group=ROLE_WORDS[role])
        for role in ROLES
        for part, label in (("name", "Name"), ("email", "Email address"))
    ),
)


def agency_value(form: Any, slug: str) -> dict[str, Any]:
    """The agency as the partnership file would hold it: a role left empty has no contact."""
    contacts = []
    for role in ROLES:
        name, email = (str(form.get(f"{role}-{p}", "")).strip() for p in ("name", "email"))
        if name or email or role == "lead":
            contacts.append({"name": name, "email": email, "role": role})
    aliases = [line.strip() for line in str(form.get("aliases", "")).splitlines() if line.strip()]
    return {"slug": slug, "name": str(form.get("name", "")).strip(), "aliases": aliases, "contacts": contacts}


def agency_form_values(agency: dict[str, Any]) -> dict[str, str]:
    values = {"slug": agency["slug"], "name": agency["name"], "aliases": "\n".join(agency.get("aliases", []))}
    for c in agency["contacts"]:
        values[f"{c['role']}-name"], values[f"{c['role']}-email"] = c["name"], c["email"]
    return values
