"""Every input is checked here, before any request leaves for a service."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django import forms
from django.core.validators import RegexValidator

from .uws.model import PHASES
from .uws.parse import parse_time

# The characters real services use in job and result ids (DaCHS `x2r_q5u4`, ESAC
# `1479386030738O`, CASDA UUIDs, `votable.xml`); nothing that can leave the path
# segment (`/`, `%`, `?`, `#`, whitespace) and no leading dot.
ID_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._~:@+-]{0,127}"
ID_RE = re.compile(ID_PATTERN)
# Large enough for any real limit (a signed 32-bit int is what most servers store).
MAX_EXECUTION_DURATION = 2**31 - 1
MAX_QUERY_LENGTH = 100_000
# The FORMAT values every TAP 1.1 service knows (§2.7.1); a service's capabilities,
# once read, offer its own list instead.
FORMATS = [
    ("votable", "VOTable (binary)"),
    ("votable/td", "VOTable (TABLEDATA)"),
    ("csv", "CSV"),
    ("tsv", "TSV"),
    ("fits", "FITS"),
]

job_id_validator = RegexValidator(
    f"^{ID_PATTERN}\\Z",
    "A job id is made of letters, digits and . _ ~ : @ + - (at most 128 characters).",
)


def utc_iso(moment: datetime) -> str:
    """The form UWS asks for (UWS 1.1 §2.2.1); DaCHS refuses offsets.

    isoformat, not strftime: strftime does not pad years before 1000 on Linux.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


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


OPERATIONS = [
    ("status", "Status"),
    ("run", "Run"),
    ("executionduration", "Change execution duration"),
    ("destruction", "Change destruction time"),
    ("results", "Results"),
    ("abort", "Abort"),
    ("delete", "Delete"),
]


class JobOperationForm(forms.Form):
    """The job-id forms of the start page: one operation on one job of one service."""

    service = forms.ChoiceField(label="Service")
    op = forms.ChoiceField(choices=OPERATIONS, label="Operation")
    job_id = forms.CharField(label="Job id", max_length=128, validators=[job_id_validator], strip=True)
    executionduration = ExecutionDurationField(required=False)
    destruction = DestructionField(required=False)

    def __init__(self, *args, services, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [(service.slug, service.title) for service in services]

    def clean(self):
        data = super().clean()
        op = data.get("op")
        if op == "executionduration" and data.get("executionduration") is None:
            self.add_error("executionduration", "Give the new execution duration in seconds.")
        if op == "destruction" and data.get("destruction") is None and "destruction" not in self.errors:
            self.add_error("destruction", "Give the new destruction time.")
        return data


class NewJobForm(forms.Form):
    query = forms.CharField(
        label="ADQL query",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
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
