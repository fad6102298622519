"""The one widget per kind of date or time input. A phone's `datetime-local`, `date` and
`time` inputs accept only ISO values (2026-09-30T08:00, 2026-09-30, 08:00) and show a
blank field for anything else, while Django renders the locale's format (2026/09/30 08:00
in zh-hans): every form field of these kinds uses these widgets."""

from django import forms


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")
