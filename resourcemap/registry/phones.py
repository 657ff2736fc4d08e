"""Phone numbers: parsed and checked with `phonenumbers`, stored in E.164."""
from __future__ import annotations

import phonenumbers


class BadPhone(ValueError):
    pass


# National helplines dialled by a short number within their country, which has no E.164 form (phonenumbers does not
# know them): stored as dialled. The Kazakh line for children and youth, the Kazakh family and child protection line.
SHORT_HELPLINES = {"KZ": frozenset({"150", "111"})}


def to_e164(raw: str, default_region: str = "RU") -> str:
    """'+7 (496) 570-00-00' -> '+74965700000' (a short helpline of the region as dialled: '150'); raises BadPhone
    when it is not a valid number."""
    if raw.strip() in SHORT_HELPLINES.get(default_region, ()):
        return raw.strip()
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise BadPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise BadPhone(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
