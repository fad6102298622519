"""Date and time inputs: every date-time field of the project's forms renders the one
widget, whose value is ISO (YYYY-MM-DDTHH:MM), the only format `datetime-local` accepts."""

import importlib
import pkgutil
import re

from django import forms

import jiceng
from jiceng.core.widgets import DateInput, DateTimeInput, TimeInput


def test_the_patrol_form_is_prefilled_in_a_format_the_phone_accepts(world, login):
    page = login(world.a("grid_worker")).get("/patrols/new/").content.decode()
    started = re.search(r'<input type="datetime-local" name="started_at" value="([^"]*)"', page)
    ended = re.search(r'<input type="datetime-local" name="ended_at" value="([^"]*)"', page)
    assert started and ended, "both times are prefilled"
    for value in (started.group(1), ended.group(1)):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value), value


def test_what_the_widget_renders_is_read_back_as_the_same_time():
    class Form(forms.Form):
        at = forms.DateTimeField(widget=DateTimeInput())

    import datetime

    moment = datetime.datetime(2026, 3, 5, 7, 9)
    html = Form(initial={"at": moment}).as_p()
    value = re.search(r'value="([^"]*)"', html).group(1)
    assert value == "2026-03-05T07:09"
    bound = Form({"at": value})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["at"].replace(tzinfo=None) == moment


def _forms():
    for module in pkgutil.walk_packages(jiceng.__path__, "jiceng."):
        if ".migrations" in module.name or module.name.endswith(("wsgi", "asgi")):
            continue
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, forms.BaseForm)
                and value.__module__ == module.name
            ):
                yield value


def test_every_date_or_time_field_of_every_form_uses_the_one_widget(db):
    widgets = {
        forms.DateTimeField: DateTimeInput,
        forms.DateField: DateInput,
        forms.TimeField: TimeInput,
    }
    found, wrong = 0, []
    for form in _forms():
        for name, field in form.base_fields.items():
            for kind, widget in widgets.items():
                if type(field) is kind:
                    found += 1
                    if not isinstance(field.widget, widget):
                        wrong.append(f"{form.__module__}.{form.__name__}.{name}")
    assert found >= 5  # the patrol form's two times, the activity form's date and times
    assert wrong == []
