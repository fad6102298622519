"""Password rules (等保 2.0): length is set in settings; here, character variety."""

import string

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits)


class CharacterClassValidator:
    """At least three of: upper case, lower case, digits, other characters."""

    def validate(self, password: str, user=None) -> None:
        found = sum(any(c in chars for c in password) for chars in CLASSES)
        found += any(not c.isalnum() for c in password)
        if found < 3:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、符号中的至少三类。",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return "密码须包含大写字母、小写字母、数字、符号中的至少三类。"


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, in Chinese (its own translation lacks this message's plural form)."""

    def get_error_message(self) -> str:
        return f"密码太短：至少须有{self.min_length}个字符。"

    def get_help_text(self) -> str:
        return f"密码至少须有{self.min_length}个字符。"
