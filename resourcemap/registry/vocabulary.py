"""The child's condition and the cost of a service: fixed vocabularies, each a code with Russian, English and Kazakh
labels.

A service lists the conditions it works with (`service.conditions`, none listed: not stated) and what it costs
(`service.cost`: free, partly paid or paid; NULL: not stated) with the grounds on which it is free or partly paid
(`service.cost_basis`: a state programme, a referral). Migration 0020 keeps the codes in CHECK constraints; the
import format (exchange/columns.py), the HSDS export (exchange/hsds.py), the editor and the filters of the map, the
API and the console all read them from here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    code: str
    ru: str
    en: str
    kk: str

    def label(self, lang: str | None) -> str:
        """The label in the page's language (Russian unless English or Kazakh is asked for)."""
        return self.en if lang == "en" else self.kk if lang == "kk" else self.ru


CONDITIONS = (
    Term("hearing", "Нарушения слуха", "Hearing impairment", "Есту қабілетінің бұзылуы"),
    Term("vision", "Нарушения зрения", "Visual impairment", "Көру қабілетінің бұзылуы"),
    Term("motor", "Нарушения движения (опорно-двигательного аппарата)", "Motor impairment", "Қимыл-қозғалыс аппаратының бұзылуы"),
    Term("autism", "Расстройства аутистического спектра", "Autism spectrum", "Аутизм спектрінің бұзылуы"),
    Term("down_syndrome", "Синдром Дауна", "Down syndrome", "Даун синдромы"),
    Term("developmental_delay", "Задержка развития", "Developmental delay", "Дамудың тежелуі"),
    Term("complex_needs", "Тяжёлые множественные нарушения", "Complex needs", "Күрделі көптік бұзылыстар"),
)
COSTS = (
    Term("free", "Бесплатно", "Free", "Тегін"),
    Term("partly_paid", "Частично платно", "Partly paid", "Ішінара ақылы"),
    Term("paid", "Платно", "Paid", "Ақылы"),
)
COST_BASES = (
    Term("state_programme", "По государственной программе", "Under a state programme", "Мемлекеттік бағдарлама бойынша"),
    Term("referral", "По направлению", "With a referral", "Жолдама бойынша"),
)

CONDITION_CODES = tuple(t.code for t in CONDITIONS)
COST_CODES = tuple(t.code for t in COSTS)
COST_BASIS_CODES = tuple(t.code for t in COST_BASES)
_BY_CODE = {t.code: t for t in CONDITIONS + COSTS + COST_BASES}


def label(code: str, lang: str | None = "ru") -> str:
    """The label of any code of these vocabularies (the code itself when unknown)."""
    term = _BY_CODE.get(code)
    return term.label(lang) if term else code


class BadCode(ValueError):
    """A filter value that is no code of its vocabulary (`code` is '' for an empty one)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def read_codes(values, vocabulary: tuple[Term, ...], skip_empty: bool = False) -> tuple[str, ...]:
    """The codes of a repeatable, comma-separated filter (condition=hearing&condition=motor, cost=free,paid), each
    once, in the vocabulary's order; BadCode for the first unknown (or, unless `skip_empty`, empty) one. The one
    reading of the filters for the API, the public page and the dispatch console."""
    codes = [c.strip() for raw in values or () for c in raw.split(",")]
    if skip_empty:
        codes = [c for c in codes if c]
    known = [t.code for t in vocabulary]
    for code in codes:
        if code not in known:
            raise BadCode(code)
    return tuple(k for k in known if k in codes)


def ordered(codes, vocabulary: tuple[Term, ...]) -> list[str]:
    """The codes of `vocabulary` among `codes`, in the vocabulary's order, each once."""
    asked = set(codes or ())
    return [t.code for t in vocabulary if t.code in asked]


def choices(vocabulary: tuple[Term, ...], lang: str | None) -> list[dict]:
    """A vocabulary as a form offers it: [{"code", "name"}] in the page's language."""
    return [{"code": t.code, "name": t.label(lang)} for t in vocabulary]
