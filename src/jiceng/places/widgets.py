"""The one region picker: a form chooses a region by stepping down the tree (县 → 乡镇街道 →
社区村 → 网格) among the nodes where the user holds the form's permissions, one select per
level, never by a typed code. Each choice asks the server (htmx) for the next level; the
value is the deepest choice that lies under the ones above it."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from jiceng.core.access import minimal_prefixes, scopes, within
from jiceng.core.region_codes import ancestors_of, is_within
from jiceng.places.models import Region

PERMISSION = re.compile(r"^[a-z_]+\.[a-z_]+$")
PICKED_EVENT = "region-picked"  # sent (HX-Trigger) when a choice was made: dependants reload


def picker_roots(user, permissions) -> tuple[str, ...]:
    """The top nodes the user may pick under, for any of `permissions`."""
    return minimal_prefixes(code for p in permissions for code in scopes(user, p))


def picked(values, roots) -> str:
    """The deepest of the chosen codes (one per level, top first) that lies in the user's
    scope and under every choice above it: a level changed above leaves stale choices below
    it, and those are dropped."""
    chosen = ""
    for value in values:
        value = (value or "").strip()
        if not value or not value.isdigit():
            break
        if chosen and (ancestors_of(value) or [""])[-1] != chosen:
            break
        if not chosen and not within(value, roots):
            break
        chosen = value
    return chosen


def picker_levels(user, permissions, code: str) -> list[dict]:
    """The selects to show for `code`: the roots, then the children of each node of the path
    down to `code` (and of `code` itself, unless it is a grid)."""
    roots = picker_roots(user, permissions)
    path = []
    if code and within(code, roots):
        tops = [r for r in roots if is_within(code, r)]
        top = max(tops, key=len)
        path = [c for c in [*ancestors_of(code), code] if len(c) >= len(top)]
    nodes = {
        r.code: r
        for r in Region.objects.filter(code__in=[*roots, *path]).only("code", "name", "level")
    }
    path = [c for c in path if c in nodes]
    levels = [
        {
            "label": "区划",
            "empty": "请选择",
            "options": [nodes[r] for r in roots if r in nodes],
            "selected": path[0] if path else "",
        }
    ]
    children_of = {}
    if path:
        parents = [c for c in path if nodes[c].level != Region.Level.GRID]
        for child in (
            Region.objects.filter(parent_id__in=parents)
            .only("code", "name", "parent_id")
            .order_by("code")
        ):
            children_of.setdefault(child.parent_id, []).append(child)
    for depth, parent in enumerate(path):
        options = children_of.get(parent, [])
        if not options:
            break
        levels.append(
            {
                "label": f"{nodes[parent].name}下级",
                "empty": f"（整个{nodes[parent].name}）",
                "options": options,
                "selected": path[depth + 1] if depth + 1 < len(path) else "",
            }
        )
    return levels


class RegionPicker(forms.Widget):
    template_name = "places/_region_picker.html"

    def __init__(self, permissions=(), attrs=None):
        super().__init__(attrs)
        self.permissions = tuple(permissions)
        self.user = None

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return picked(values, picker_roots(self.user, self.permissions))

    def value_omitted_from_data(self, data, files, name):
        return name not in data

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["levels"] = picker_levels(self.user, self.permissions, str(value or ""))
        context["picker_url"] = (
            reverse("places:region_picker") + f"?name={name}&for={','.join(self.permissions)}"
        )
        return context


class RegionPickerField(forms.CharField):
    """A region chosen with the picker among the nodes where the form's user holds one of
    `permissions`; call `for_user(user)` on the form's copy of the field."""

    def __init__(self, *, permissions, **kwargs):
        kwargs.setdefault("error_messages", {"required": "请选择区划。"})
        super().__init__(widget=RegionPicker(permissions), **kwargs)
        self.permissions = tuple(permissions)
        self.user = None

    def for_user(self, user) -> "RegionPickerField":
        self.user = self.widget.user = user
        return self

    def validate(self, value):
        super().validate(value)
        if value and not within(value, picker_roots(self.user, self.permissions)):
            raise ValidationError("请在您管辖的区划内选择。", code="region_scope")
