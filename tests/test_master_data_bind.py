"""The master-data snapshot for recognition works whatever the session is bound to.

Found by the type checker: the snapshot cache was keyed by `session.get_bind().url`, which only
an Engine has; a session bound to a Connection (a caller that owns the transaction, as the
tests' and scripts' savepoint pattern does) raised AttributeError instead of recognising.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.db import transaction
from ingest.filing import master_data
from records.models import Household, Member
from tests.support import migrated_sessions


def test_master_data_reads_through_a_session_bound_to_a_connection(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    try:
        with transaction(sessions) as session:
            household = Household(bg_number="95401BG0000001", street="Markt 1", town="Husum")
            household.members.append(
                Member(last_name="Müller", first_name="Anna", birth_date=date(1980, 5, 1))
            )
            session.add(household)
        with engine.connect() as connection, Session(bind=connection) as session:
            snapshot = master_data(session)
        assert list(snapshot.households) == ["95401BG0000001"]
        assert [p.member.first_name for p in snapshot.persons_by_bg["95401BG0000001"]] == ["Anna"]
    finally:
        engine.dispose()
