"""Phone numbers: parsed and checked with `phonenumbers`, stored in E.164."""
from __future__ import annotations

import phonenumbers


class BadPhone(ValueError):
    pass


def to_e164(raw: str, default_region: str = "RU") -> str:
    """'+7 (496) 570-00-00' -> '+74965700000'; raises BadPhone when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise BadPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise BadPhone(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
