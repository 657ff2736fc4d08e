"""Phone numbers as people read them: E.164 as stored, and the national format they dial."""
from __future__ import annotations

import functools

import phonenumbers


@functools.lru_cache(maxsize=65536)
def national_format(number: str) -> str:
    """The national format of an E.164 number (parsing costs ~60 us; answers repeat the same phones)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return number


def phone_view(phone: dict) -> dict:
    """A phone as E.164 and in the national format people dial."""
    number = phone["number"]
    return {"number": number, "display": national_format(number), "kind": phone.get("kind", "main"),
            "note": phone.get("note", "")}
