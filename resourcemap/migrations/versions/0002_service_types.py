"""Seed the kinds of help (taxonomy_term).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SERVICE_TYPES = [
    ("early_help", "Ранняя помощь", "Early help",
     "Помощь семьям с детьми от 0 до 3 лет с нарушениями развития или риском их появления"),
    ("crisis_apartment", "Кризисная квартира", "Crisis apartment",
     "Временное проживание для мам с детьми в трудной ситуации"),
    ("rental_point", "Пункт проката", "Rental point",
     "Прокат товаров и оборудования для ухода за ребёнком"),
    ("rehabilitation", "Реабилитация", "Rehabilitation",
     "Реабилитация детей с ОВЗ и инвалидностью"),
    ("family_support", "Сопровождение семьи", "Family support",
     "Служба «Дети в семье»: сопровождение семьи в кризисе"),
    ("social_nanny", "Социальная няня", "Social nanny", "Присмотр за ребёнком на время, пока родитель занят"),
    ("respite_care", "Передышка", "Respite care",
     "Краткосрочное пребывание ребёнка, чтобы родители могли отдохнуть"),
    ("day_care", "Дневное пребывание", "Day care", "Группы дневного пребывания"),
    ("psychological_help", "Психологическая помощь", "Psychological help", "Консультации психолога"),
    ("legal_help", "Юридическая помощь", "Legal help", "Консультации юриста, помощь с документами"),
    ("parent_club", "Родительский клуб", "Parent club", "Встречи и взаимная поддержка родителей"),
    ("addiction_rehab", "Помощь при зависимости", "Addiction rehabilitation",
     "Реабилитация родителей с зависимостью"),
    ("palliative_care", "Паллиативная помощь", "Palliative care", "Помощь неизлечимо больным детям и их семьям"),
    ("mobile_team", "Выездная бригада", "Mobile team", "Специалисты, которые приезжают к семье"),
    ("humanitarian_aid", "Гуманитарная помощь", "Humanitarian aid", "Продукты, одежда, вещи для детей"),
    ("hotline", "Консультативная диспетчерская служба", "Hotline", "Консультации по телефону"),
]


def upgrade() -> None:
    table = sa.table("taxonomy_term", sa.column("code"), sa.column("name_ru"), sa.column("name_en"),
                     sa.column("description_ru"), sa.column("position"))
    op.bulk_insert(table, [
        {"code": c, "name_ru": ru, "name_en": en, "description_ru": d, "position": i}
        for i, (c, ru, en, d) in enumerate(SERVICE_TYPES, start=1)
    ])


def downgrade() -> None:
    op.execute("DELETE FROM taxonomy_term")
