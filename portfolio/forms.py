"""HTML forms of the registry: they parse and validate input; services do the writing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import QuerySet

from portfolio import roles
from portfolio.models import BusinessUnit, Capability, Project, Tool

User = AbstractBaseUser | AnonymousUser


def editable_units(user: User) -> QuerySet[BusinessUnit]:
    """Units the user may register projects in (every unit for reviewers and admins)."""
    units = BusinessUnit.objects.select_related("parent").order_by("name")
    if not user.is_authenticated:
        return units.none()
    if roles.edits_everything(user):
        return units
    if roles.is_executive(user):
        return units.none()
    return units.filter(pk__in=roles.member_unit_ids(user))


def can_register(user: User) -> bool:
    """May the user register a project in at least one unit? (No query for reviewers.)"""
    if not user.is_authenticated:
        return False
    if roles.edits_everything(user):
        return True
    return not roles.is_executive(user) and bool(roles.member_unit_ids(user))


class CommaSeparatedListField(forms.CharField):
    """A list of short strings typed as "age, sex, ethnicity"."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    # A CharField on the page, a list of strings once parsed (CharField.to_python says str).
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            items: Iterable[str] = (str(v) for v in value)
        else:
            items = str(value or "").split(",")
        return list(dict.fromkeys(item.strip() for item in items if item.strip()))

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        too_long = [v for v in value if len(v) > 100]
        if too_long:
            raise forms.ValidationError("Each item must be at most 100 characters long.")

    def run_validators(self, value: Any) -> None:
        return None


class YesNoUnknownWidget(forms.RadioSelect):
    """Three radio buttons for a nullable boolean: not known yet, yes, no."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs, choices=[("unknown", "Not known yet"), ("true", "Yes"), ("false", "No")]
        )

    def format_value(self, value: Any) -> list[str]:
        mapping = {True: "true", "True": "true", "true": "true"}
        mapping.update({False: "false", "False": "false", "false": "false"})
        return [mapping.get(value, "unknown")]


class UserChoiceField(forms.ModelChoiceField[AuthUser]):
    def label_from_instance(self, obj: AuthUser) -> str:
        full = obj.get_full_name() if hasattr(obj, "get_full_name") else ""
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class ToolChoiceField(forms.ModelMultipleChoiceField[Tool]):
    def label_from_instance(self, obj: Tool) -> str:
        vendor = f" · {obj.vendor}" if obj.vendor else ""
        return f"{obj.name}{vendor} ({obj.get_sanction_status_display().lower()})"


class UnitChoiceField(forms.ModelChoiceField[BusinessUnit]):
    def label_from_instance(self, obj: BusinessUnit) -> str:
        return f"{obj.name} ({obj.code})"


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONEY_WIDGET = forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"})

# The form's sections, in order, as (id, title, intro, fields); a tuple of names inside the
# fields is one row of fields side by side. Templates render from this.
SectionFields = tuple[str | tuple[str, ...], ...]
PROJECT_SECTIONS: tuple[tuple[str, str, str, SectionFields], ...] = (
    (
        "purpose",
        "Purpose",
        "What the project is for, in words a colleague in another unit would understand.",
        ("name", "external_ref", "business_unit", "problem", "benefits", "outputs"),
    ),
    (
        "owners",
        "Owners",
        "Who is accountable for the project and whom to contact about it.",
        (("owner", "executive_sponsor"), "contact_email"),
    ),
    (
        "data",
        "Data",
        "What data the system uses. Personal data and demographic features raise the risk tier.",
        ("involves_pii", "data_description", "demographic_features"),
    ),
    (
        "tools",
        "Tools and techniques",
        "The AI products, models and methods the project uses or will use.",
        ("tools", "capabilities", "techniques", "development_method"),
    ),
    (
        "stage",
        "Stage and dates",
        "Where the project is in its life and its topic area.",
        ("stage", "topic_area", ("date_initiated", "date_implemented", "date_retired")),
    ),
    (
        "value",
        "Cost and value",
        "Estimates are fine; they help compare projects across the organisation.",
        (("annual_cost", "expected_annual_benefit", "people_affected"),),
    ),
    (
        "visibility",
        "Visibility",
        "Who can see this project in the registry.",
        ("visibility",),
    ),
)


class ProjectForm(forms.ModelForm[Project]):
    """Register or edit a project. `version` carries the version the user read (edits only)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    business_unit = UnitChoiceField(
        queryset=BusinessUnit.objects.none(),
        label="Business unit",
        empty_label="Choose a business unit",
    )
    owner = UserChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="No owner yet",
        help_text="The person accountable for the project day to day.",
    )
    executive_sponsor = UserChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="No sponsor yet",
    )
    tools = ToolChoiceField(
        queryset=Tool.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tools marked restricted or prohibited need a reviewer's attention.",
    )
    capabilities = forms.ModelMultipleChoiceField(
        queryset=Capability.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the AI does, from the organisation's capability list.",
    )
    techniques = forms.MultipleChoiceField(
        choices=Project.Technique.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="AI techniques",
    )
    demographic_features = CommaSeparatedListField(
        required=False,
        label="Demographic features used",
        help_text="Comma-separated, e.g. age, sex, ethnicity. Leave empty if none.",
    )
    involves_pii = forms.NullBooleanField(
        required=False, widget=YesNoUnknownWidget, label="Does it use personal data?"
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "external_ref",
            "business_unit",
            "problem",
            "benefits",
            "outputs",
            "owner",
            "executive_sponsor",
            "contact_email",
            "involves_pii",
            "data_description",
            "demographic_features",
            "tools",
            "capabilities",
            "techniques",
            "development_method",
            "stage",
            "topic_area",
            "date_initiated",
            "date_implemented",
            "date_retired",
            "annual_cost",
            "expected_annual_benefit",
            "people_affected",
            "visibility",
            "distinct_justification",
        ]
        labels = {
            "name": "Project name",
            "external_ref": "Reference",
            "problem": "Problem it solves",
            "benefits": "Expected benefits",
            "outputs": "What the system produces",
            "contact_email": "Contact e-mail",
            "data_description": "Data used",
            "development_method": "Built by",
            "topic_area": "Topic area",
            "date_initiated": "Started on",
            "date_implemented": "In use since",
            "date_retired": "Retired on",
            "annual_cost": "Annual cost",
            "expected_annual_benefit": "Expected annual benefit",
            "people_affected": "People affected",
            "distinct_justification": "Why is yours different?",
        }
        help_texts = {
            "name": "A short name people will recognise, e.g. “Letter summariser for claims”.",
            "external_ref": "Optional identifier from another inventory, e.g. DOJ-0357.",
            "problem": "The business problem, not the technology.",
            "benefits": "Who gains what: time saved, quality, cost, service to citizens.",
            "outputs": "Predictions, summaries, classifications, generated text…",
            "data_description": "Sources, volumes and any sensitive categories.",
            "annual_cost": "Licences, cloud and staff time per year, in the organisation's "
            "currency.",
            "expected_annual_benefit": "Savings or value per year, same currency.",
            "people_affected": "Roughly how many people the system's outputs affect per year.",
            "distinct_justification": "If a similar project exists, say why a separate one "
            "is needed.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "off"}),
            "problem": forms.Textarea(attrs={"rows": 4}),
            "benefits": forms.Textarea(attrs={"rows": 3}),
            "outputs": forms.Textarea(attrs={"rows": 3}),
            "data_description": forms.Textarea(attrs={"rows": 3}),
            "distinct_justification": forms.Textarea(attrs={"rows": 4}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "stage": forms.RadioSelect,
            "visibility": forms.RadioSelect,
            "date_initiated": DATE_WIDGET,
            "date_implemented": DATE_WIDGET,
            "date_retired": DATE_WIDGET,
            "annual_cost": MONEY_WIDGET,
            "expected_annual_benefit": MONEY_WIDGET,
            "people_affected": forms.NumberInput(attrs={"min": "0", "step": "1"}),
        }

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["business_unit"].queryset = editable_units(user)
        people = get_user_model().objects.filter(is_active=True).order_by("username")
        fields["owner"].queryset = people
        fields["executive_sponsor"].queryset = people
        fields["tools"].queryset = Tool.objects.order_by("name")
        fields["capabilities"].queryset = Capability.objects.order_by("name")
        # An empty catalogue would show an empty box: say where its entries come from instead.
        self.empty_catalogues: set[str] = set()
        if not Tool.objects.exists():
            self.empty_catalogues.add("tools")
            fields["tools"].help_text = (
                "No tools in the catalogue yet: an admin adds them (Admin, Tools), and imports "
                "add the vendors and products that inventories name."
            )
        if not Capability.objects.exists():
            self.empty_catalogues.add("capabilities")
            hint = "No capabilities in the catalogue yet: an admin adds them (Admin, Capabilities)."
            fields["capabilities"].help_text = hint
        fields["topic_area"].choices = [("", "Not specified"), *Project.TopicArea.choices]
        fields["development_method"].choices = [
            ("", "Not decided yet"),
            *Project.DevelopmentMethod.choices,
        ]
        if self.instance.pk is not None and not self.is_bound:
            self.initial["version"] = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        started, implemented = cleaned.get("date_initiated"), cleaned.get("date_implemented")
        if started and implemented and implemented < started:
            self.add_error("date_implemented", "This date is before the start date.")
        retired = cleaned.get("date_retired")
        if started and retired and retired < started:
            self.add_error("date_retired", "This date is before the start date.")
        return cleaned

    def sections(self) -> list[dict[str, Any]]:
        """Sections of bound fields; each item is {"fields": [...], "row": bool}."""
        return [
            {
                "id": key,
                "title": title,
                "intro": intro,
                "items": [
                    {"row": True, "fields": [self[name] for name in entry]}
                    if isinstance(entry, tuple)
                    else {"row": False, "fields": [self[entry]]}
                    for entry in entries
                ],
            }
            for key, title, intro, entries in PROJECT_SECTIONS
        ]

    def service_data(self) -> dict[str, Any]:
        """The cleaned values in the shape `services.project_register/update` take."""
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Inventory file",
        help_text="A .csv or .xlsx file, at most %(mb)s MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    format = forms.ChoiceField(label="File format", choices=())
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip invalid rows",
        help_text="Import the valid rows and list the rejected ones. Without this, one invalid "
        "row rejects the whole file and nothing is written.",
    )
    dry_run = forms.BooleanField(
        required=False,
        label="Dry run",
        help_text="Check the file and report what would change, without writing anything.",
    )

    def __init__(self, *args: Any, formats: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        # No format preselected: a file read in the wrong format is rejected row by row.
        fields["format"].choices = [("", "Choose the file's format"), *formats]
        mb = settings.MAESTRO_MAX_UPLOAD_MB
        self.fields["file"].help_text = self.fields["file"].help_text % {"mb": mb}

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        max_bytes = settings.MAESTRO_MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > max_bytes:
            raise forms.ValidationError(
                f"The file is larger than {settings.MAESTRO_MAX_UPLOAD_MB} MB."
            )
        return upload
