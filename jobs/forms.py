"""Every input is checked here, before any request leaves for a service."""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.core.validators import RegexValidator

from .operations import BY_ID, CHANGES, START_PAGE, Operation, posted_names
from .uws.model import ID_PATTERN, PHASES
from .uws.times import parse_time, utc_iso

# Large enough for any real limit (a signed 32-bit int is what most servers store).
MAX_EXECUTION_DURATION = 2**31 - 1
MAX_QUERY_LENGTH = 100_000
# The FORMAT values every TAP 1.1 service knows (§2.7.1); a service's capabilities,
# once read, offer its own list instead.
FORMATS = [
    ("votable", "VOTable, binary — best for TOPCAT"),
    ("votable/td", "VOTable, TABLEDATA (XML text)"),
    ("csv", "CSV"),
    ("tsv", "TSV (tab-separated)"),
    ("fits", "FITS"),
]

job_id_validator = RegexValidator(
    f"^{ID_PATTERN}\\Z",
    "A job id is made of letters, digits and . _ ~ : @ + - (at most 128 characters).",
)


class ExecutionDurationField(forms.IntegerField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_EXECUTION_DURATION)
        kwargs.setdefault("label", "Execution duration (seconds, 0 = unlimited)")
        kwargs.setdefault("error_messages", {"invalid": "The execution duration must be a whole number of seconds."})
        super().__init__(**kwargs)

    def to_python(self, value):
        # IntegerField would accept "10.0"; a duration is whole seconds only.
        if isinstance(value, str) and value.strip() and not value.strip().isdigit():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class DestructionField(forms.CharField):
    """An ISO 8601 date-time in the future; without a zone it is read as UTC."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "Destruction time (ISO 8601, UTC)")
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def clean(self, value) -> datetime | None:
        text = super().clean(value)
        if not text:
            return None
        moment = parse_time(text)
        if moment is None:
            raise forms.ValidationError(
                "The destruction time must be an ISO 8601 date and time, e.g. 2030-01-31T12:00:00Z."
            )
        if moment <= datetime.now(UTC):
            raise forms.ValidationError(
                "The destruction time is in the past: the service would destroy the job at once."
            )
        return moment


class ExecutionDurationForm(forms.Form):
    executionduration = ExecutionDurationField()


class DestructionForm(forms.Form):
    destruction = DestructionField()


class JobOperationForm(forms.Form):
    """The job-id forms of the start page: one operation on one job of one service."""

    service = forms.ChoiceField(label="Service")
    op = forms.ChoiceField(choices=[(op.id, op.label) for op in START_PAGE], label="Operation")
    job_id = forms.CharField(label="Job id or job URL", max_length=2000, strip=True)
    executionduration = ExecutionDurationField(required=False)
    destruction = DestructionField(required=False)

    def __init__(self, *args, services, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [(service.slug, service.title) for service in services]

    def clean(self):
        data = super().clean()
        given = data.get("job_id", "")
        if "://" in given:
            # A job URL as the service gave it: it names the service too (a configured one only).
            from .remembered import service_and_job_of

            found = service_and_job_of(given)
            if found is None:
                self.add_error("job_id", "This is not the URL of a job of a service this portal offers.")
            else:
                data["service"], data["job_id"] = found[0].slug, found[1]
        elif given:
            try:
                job_id_validator(given)
            except forms.ValidationError as error:
                self.add_error("job_id", error)
        op = data.get("op")
        if op == "executionduration" and data.get("executionduration") is None:
            self.add_error("executionduration", "Give the new execution duration in seconds.")
        if op == "destruction" and data.get("destruction") is None and "destruction" not in self.errors:
            self.add_error("destruction", "Give the new destruction time.")
        return data

    @property
    def operation(self) -> Operation:
        return BY_ID[self.cleaned_data["op"]]

    @property
    def value(self):
        """The value the operation sends, if it takes one."""
        return self.cleaned_data.get(self.cleaned_data["op"]) if self.operation.takes_value else None


# The form that checks each change's value, by the job page's field name.
_VALUE_FORMS: dict[str, type[forms.Form]] = {
    "EXECUTIONDURATION": ExecutionDurationForm,
    "DESTRUCTION": DestructionForm,
}


class JobActionForm:
    """The one change a POST to a job URL asks for, as ESO's examples send it.

    Names are case-insensitive. `operation` and `value` once valid; otherwise `problem`
    (no change named) or `value_form` (the value's own form, with its errors, to show again).
    """

    def __init__(self, data) -> None:
        self.fields = {key.upper(): value.strip() for key, value in data.items() if key != "csrfmiddlewaretoken"}
        self.operation: Operation | None = None
        self.value = None
        self.problem: str | None = None
        self.value_form: forms.Form | None = None
        self.confirmed = self.fields.get("CONFIRMED") == "yes"

    def is_valid(self) -> bool:
        fixed_by_field: dict[str, list[str]] = {}
        for operation in CHANGES:
            if operation.field not in self.fields:
                continue
            if operation.fixed is None:
                return self._with_value(operation)
            if self.fields[operation.field].upper() == operation.fixed:
                self.operation = operation
                return True
            fixed_by_field.setdefault(operation.field, []).append(operation.fixed)
        if "PHASE" in fixed_by_field:
            self.problem = f"PHASE must be {' or '.join(fixed_by_field['PHASE'])}, not {self.fields['PHASE'][:40]!r}."
        else:
            self.problem = f"Nothing to do: send {posted_names()}."
        return False

    def _with_value(self, operation: Operation) -> bool:
        form = _VALUE_FORMS[operation.field]({operation.id: self.fields[operation.field]})
        if form.is_valid():
            self.operation, self.value = operation, form.cleaned_data[operation.id]
            return True
        self.value_form = form
        return False


class NewJobForm(forms.Form):
    query = forms.CharField(
        label="ADQL query",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        error_messages={"required": "The query is empty: write an ADQL query."},
    )
    format = forms.ChoiceField(label="Result format", choices=FORMATS, initial="votable")
    maxrec = forms.IntegerField(
        label="Row limit (MAXREC, empty = the service's default)", min_value=0, max_value=2**31 - 1, required=False
    )
    runid = forms.CharField(label="Run id (a label of your own, optional)", max_length=64, required=False)
    run = forms.BooleanField(label="Run it now", required=False, initial=True)

    def __init__(self, *args, formats: list[tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if formats:
            self.fields["format"].choices = formats
            values = [value for value, _ in formats]
            self.fields["format"].initial = "votable" if "votable" in values else values[0]

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].strip()
        if not query:
            raise forms.ValidationError("The query is empty: write an ADQL query.")
        return query

    def uws_parameters(self) -> dict[str, str]:
        """The TAP 1.1 §3.3 parameters of the creation request."""
        data = self.cleaned_data
        parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": data["query"], "FORMAT": data["format"]}
        if data.get("maxrec") is not None:
            parameters["MAXREC"] = str(data["maxrec"])
        if data.get("runid"):
            parameters["RUNID"] = data["runid"]
        return parameters


class JobListFilterForm(forms.Form):
    """The UWS 1.1 §2.2.2.1 list filters, checked before they are passed on."""

    PHASE = forms.MultipleChoiceField(
        label="Phase", choices=[(phase, phase) for phase in PHASES], required=False, widget=forms.CheckboxSelectMultiple
    )
    AFTER = forms.CharField(label="Created after (ISO 8601, UTC)", max_length=64, required=False)
    LAST = forms.IntegerField(label="Newest", min_value=1, max_value=100_000, required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, data, *args, **kwargs) -> None:
        # Filter names are case-insensitive, like the service's (UWS 1.1 §2.2.2.1);
        # phase values are taken in any case too.
        normalised = data.copy()
        for key in list(data.keys()):
            upper = key.upper()
            if upper in ("PHASE", "AFTER", "LAST") and key != upper:
                normalised.setlist(upper, normalised.getlist(upper) + data.getlist(key))
                del normalised[key]
        normalised.setlist("PHASE", [value.upper() for value in normalised.getlist("PHASE")])
        super().__init__(normalised, *args, **kwargs)

    def clean_AFTER(self) -> str | None:
        text = self.cleaned_data["AFTER"].strip()
        if not text:
            return None
        moment = parse_time(text)
        if moment is None:
            raise forms.ValidationError("AFTER must be an ISO 8601 date and time, e.g. 2026-01-31T00:00:00Z.")
        return utc_iso(moment)


PREVIEW_ROWS = 100
PREVIEW_MAX_ROWS = 1000


class PreviewForm(forms.Form):
    """How many rows a preview shows: out-of-range numbers are brought into range, anything else is the default."""

    rows = forms.IntegerField(required=False)
    sort = forms.IntegerField(min_value=0, required=False)  # the column the rows are sorted by
    order = forms.ChoiceField(choices=[("asc", "ascending"), ("desc", "descending")], required=False)

    def clean_rows(self) -> int:
        rows = self.cleaned_data["rows"]
        return PREVIEW_ROWS if rows is None else min(max(rows, 1), PREVIEW_MAX_ROWS)

    def wanted(self) -> int:
        return self.cleaned_data["rows"] if self.is_valid() else PREVIEW_ROWS

    def sorting(self) -> tuple[int | None, bool]:
        """(column index, descending) the rows are sorted by; (None, False) for the result's own order."""
        if not self.is_valid():
            return None, False
        return self.cleaned_data["sort"], self.cleaned_data["order"] == "desc"


class ResubmitForm(forms.Form):
    """`?resubmit=<job>` on a service's start page: fill the new-query form from that job;
    `&maxrec=<rows>` asks for another row limit, brought down to the service's largest (`hard_limit`).
    `?example=<key>` fills it with one of the service's example queries instead."""

    resubmit = forms.CharField(max_length=128, required=False, validators=[job_id_validator])
    maxrec = forms.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    example = forms.CharField(max_length=2000, required=False)  # DaCHS makes an example's id of its whole title

    def __init__(self, *args, hard_limit: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hard_limit = hard_limit
        self.capped = False

    def clean_maxrec(self) -> int | None:
        maxrec = self.cleaned_data["maxrec"]
        if maxrec is not None and self.hard_limit is not None and maxrec > self.hard_limit:
            self.capped = True
            return self.hard_limit
        return maxrec


class AddJobForm(forms.Form):
    url = forms.URLField(label="Job URL (as the service gave it)", max_length=2000, assume_scheme="https")


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MyJobsFilterForm(forms.Form):
    """The search of My jobs: words in the query, run id, note or job id; service, phase and dates."""

    q = forms.CharField(label="Search", max_length=200, required=False)
    service = forms.CharField(max_length=64, required=False)
    phase = forms.CharField(max_length=32, required=False)
    after = forms.DateField(label="Created from", required=False)
    before = forms.DateField(label="Created until", required=False)

    def clean_phase(self) -> str:
        return self.cleaned_data["phase"].upper()


MAX_IMPORT_BYTES = 5 * 1024 * 1024


class ImportForm(forms.Form):
    """An export of My jobs (JSON or CSV), from this portal in another browser."""

    file = forms.FileField(label="An export of My jobs (JSON or CSV)")

    def clean_file(self) -> list[dict]:
        from .following import read_import

        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than an export of My jobs can be (5 MB).")
        try:
            return read_import(upload.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise forms.ValidationError(f"The file cannot be imported: {error}.") from None


class AttachForm(forms.Form):
    """The secret of a private link (what follows its #)."""

    secret = forms.RegexField(
        label="The code after # in the link",
        regex=r"^[A-Za-z0-9_-]{20,100}$",
        strip=True,
        error_messages={"invalid": "That is not the code of a private link."},
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Bearer token", max_length=8192, strip=True, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        # A header value: printable ASCII only (line breaks would split the header, and
        # http.client sends headers as Latin-1).
        if not all(0x21 <= ord(character) <= 0x7E for character in token):
            raise forms.ValidationError("A token is one line of printable ASCII characters without spaces.")
        return token


class SwitchForm(forms.Form):
    """A switch of a job's or a browser's (tell me when it ends, keep this job, desktop notices)."""

    on = forms.BooleanField(required=False)
    back = forms.ChoiceField(choices=[("job", "job"), ("mine", "mine")], required=False)


class EmailForm(forms.Form):
    address = forms.EmailField(
        label="E-mail address for notices",
        max_length=254,
        error_messages={"invalid": "That is not an e-mail address: write it as name@example.org."},
    )


class TablesSearchForm(forms.Form):
    """Words to find tables and columns by (name, description, unit, UCD)."""

    q = forms.CharField(label="Find a table or column", max_length=200, required=False)
