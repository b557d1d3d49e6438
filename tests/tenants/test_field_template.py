"""The portal's field template ties a field's errors to its input for assistive technology."""

import re

from django import forms
from django.template.loader import render_to_string


class _TwoRules(forms.Form):
    code = forms.CharField()

    def clean_code(self) -> str:
        raise forms.ValidationError(["Use digits only.", "Ask your admin for a code."])


def test_all_errors_of_a_field_sit_in_one_container_its_input_points_at() -> None:
    form = _TwoRules(data={"code": "abcd"})
    assert not form.is_valid()

    html = render_to_string("portal/_field.html", {"field": form["code"]})

    assert html.count('id="id_code_error"') == 1  # ids are unique, even with several errors
    described = re.search(r'<input[^>]*aria-describedby="([^"]+)"', html)
    assert described and "id_code_error" in described.group(1).split()
    assert "Use digits only." in html and "Ask your admin for a code." in html
    assert 'aria-invalid="true"' in html
