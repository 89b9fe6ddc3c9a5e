"""Accounts from the district's directory (LDAP) and single sign-on (OIDC): who someone is
there, which role and team their groups give them here, and the local account kept in step.

Both ways of signing in end in `provision`: the account is found by its source and id there
(the entry's DN, the provider's subject), else a local account of the same login that the
master-data import created is taken over, so caseloads stay with their caseworker. Role and
team follow the groups at every sign-in and sync; every change is audited. A break-glass
account is never taken over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotAuthenticated
from records import audit
from records.models import ROLES, Team, User
from records.users import end_sessions

NO_ROLE = (
    "Anmeldung nicht möglich: Ihr Konto gehört zu keiner Gruppe, die in dieser Anwendung "
    "einer Rolle zugeordnet ist. Bitte wenden Sie sich an die Administration."
)
TWO_ROLES = (
    "Anmeldung nicht möglich: Ihre Gruppen ordnen Ihnen mehrere Rollen zu ({roles}). Eine "
    "Person hat hier genau eine Rolle. Bitte wenden Sie sich an die Administration."
)
LOCKED_HERE = (
    "Anmeldung nicht möglich: Ihr Konto wurde von der Administration dieser Anwendung "
    "deaktiviert. Bitte wenden Sie sich an die Administration."
)
TAKEN = (
    "Anmeldung nicht möglich: Der Benutzername {login} gehört zu einem Notfallkonto oder "
    "einem Konto aus einer anderen Quelle. Bitte wenden Sie sich an die Administration."
)


@dataclass(frozen=True)
class ExternalIdentity:
    """A person as the directory or the identity provider knows them."""

    source: str  # "ldap" or "oidc"
    external_id: str  # the entry's DN, the provider's subject
    login: str
    name: str
    email: str | None
    groups: tuple[str, ...]


def _group_keys(group: str) -> set[str]:
    """A group as configured may be named by its DN or its common name, in any case."""
    keys = {group.strip().lower()}
    first = group.split(",", 1)[0]
    if "=" in first:
        keys.add(first.split("=", 1)[1].strip().lower())
    return keys


@dataclass(frozen=True)
class GroupMapping:
    """Groups to roles and teams, from the settings (`identity_group_roles`,
    `identity_group_teams`): keys are group DNs or names, matched case-insensitively."""

    roles: Mapping[str, str]
    teams: Mapping[str, str]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.roles.values()) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles in the group mapping: {', '.join(unknown)}")

    def _matches(self, table: Mapping[str, str], groups: Iterable[str]) -> list[str]:
        keys: set[str] = set()
        for group in groups:
            keys |= _group_keys(group)
        return [value for name, value in table.items() if name.strip().lower() in keys]

    def role_for(self, groups: Iterable[str]) -> str:
        roles = sorted(set(self._matches(self.roles, groups)))
        if not roles:
            raise NotAuthenticated(NO_ROLE, code="no_mapped_group")
        if len(roles) > 1:
            raise NotAuthenticated(
                TWO_ROLES.format(roles=", ".join(roles)), code="several_mapped_roles"
            )
        return roles[0]

    def team_for(self, groups: Iterable[str]) -> str | None:
        teams = sorted(set(self._matches(self.teams, groups)))
        return teams[0] if teams else None


def _team(session: Session, name: str | None) -> Team | None:
    if name is None:
        return None
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def find_account(session: Session, identity: ExternalIdentity) -> User | None:
    """The account of an identity: by source and id there, else an imported local account of
    the same login (taken over at provisioning)."""
    user = session.scalar(
        select(User).where(User.source == identity.source, User.external_id == identity.external_id)
    )
    if user is not None:
        return user
    user = session.scalar(select(User).where(User.login == identity.login))
    # A directory account under another DN: its entry moved (an OIDC subject never changes).
    moved = user is not None and user.source == identity.source == "ldap"
    if user is not None and (user.break_glass or (user.source != "local" and not moved)):
        raise NotAuthenticated(TAKEN.format(login=identity.login), code="login_taken")
    return user


def provision(session: Session, identity: ExternalIdentity, mapping: GroupMapping) -> User:
    """The local account of someone who just signed in or was synced: created or updated
    (name, e-mail, role and team from the groups), active again. Refuses (NotAuthenticated)
    when no group maps to a role. Every change is audited as `user.provisioned`."""
    role = mapping.role_for(identity.groups)
    team = _team(session, mapping.team_for(identity.groups))
    user = find_account(session, identity)
    if user is not None and locked_here(user):
        raise NotAuthenticated(LOCKED_HERE, code="account_deactivated")
    now = utcnow()
    created = user is None
    if user is None:
        user = User(login=identity.login, name=identity.name, role=role, active=True)
        session.add(user)
    before = {
        "role": user.role,
        "team": user.team.name if user.team else None,
        "name": user.name,
        "active": user.active,
    }
    user.source = identity.source
    user.external_id = identity.external_id
    user.name = identity.name or identity.login
    user.email = identity.email
    user.role = role
    user.team = team
    user.active = True
    user.deactivated_at = None
    user.deactivated_reason = None
    user.deactivated_by_login = None
    user.synced_at = now
    after = {"role": role, "team": team.name if team else None, "name": user.name, "active": True}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    session.flush()
    if created or changes:
        audit.record(
            session,
            None,
            "user.provisioned",
            object_type="user",
            object_id=user.id,
            actor_login=f"{identity.source}-sync",
            login=user.login,
            created=created,
            changes={} if created else changes,
        )
    return user


def _sync_login(user: User) -> str:
    return f"{user.source}-sync"


def locked_here(user: User) -> bool:
    """Deactivated by an administrator of this product (not because it left the directory):
    neither signing in nor the sync brings it back, only an administrator."""
    return (
        not user.active
        and user.deactivated_by_login is not None
        and user.deactivated_by_login != _sync_login(user)
    )


def deactivate(session: Session, user: User, reason: str, *, actor: User | None = None) -> None:
    """Deactivate an account (it left the directory, or an administrator ended it): it can no
    longer sign in and its open sessions end. Audited as `user.deactivated`."""
    if not user.active:
        return
    user.active = False
    user.deactivated_at = utcnow()
    user.deactivated_reason = reason[:300]
    user.deactivated_by_login = actor.login if actor else _sync_login(user)
    end_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.deactivated",
        object_type="user",
        object_id=user.id,
        actor_login=None if actor else _sync_login(user),
        login=user.login,
        reason=reason,
    )
