"""Sign-in through the district's directory (issue 16): the tests marked `services` talk to
the real OpenLDAP slapd that scripts/test.sh starts (services/slapd.sh, seeded from
services/slapd/seed.ldif) over StartTLS and LDAPS. Tests that change the directory add
people of their own (a fresh uid each) and remove them afterwards.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server, Tls
from sqlalchemy import delete, func, select

from api.app import create_app
from app.runtime import build_runtime
from core.db import transaction
from core.errors import ConfigurationError, NotAuthenticated
from records import directory, privacy
from records.directory import DirectoryUnavailable
from records.identity import NO_ROLE
from records.models import AuditEvent, LoginSession, LoginThrottle, User
from records.runtime import Runtime
from records.users import (
    LOGIN_FAILED,
    LoginThrottled,
    hash_password,
    log_in,
    session_for_token,
    set_break_glass,
)
from tests.support import cli_env, make_settings, run_cli, service_env, wait_for

BASE = "dc=jobcenter,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROLES = {
    # by DN and by name: both work
    f"cn=eakte-leistung,{GROUPS}": "leistung",
    "eakte-fallmanagement": "fallmanagement",
    "eakte-widerspruch": "widerspruch",
    "eakte-scanstelle": "scanstelle",
    "eakte-admin": "admin",
    "eakte-datenschutz": "datenschutz",
}
TEAMS = {"team-leistung-1": "Leistung 1", "team-fallmanagement": "Fallmanagement"}
ADDRESS = "192.0.2.16"
LOCAL_PASSWORD = "notfall-passwort-16"
MakeRuntime = Callable[..., Runtime]
# A directory as configured, for tests that never ask it.
ELSEWHERE: dict[str, object] = {
    "ldap_url": "ldaps://dc1.kreis.example",
    "ldap_security": "ldaps",
    "ldap_bind_dn": "cn=eakte,dc=kreis",
    "ldap_bind_password": "geheim",
    "ldap_user_base": "dc=kreis",
}


@dataclass(frozen=True)
class Slapd:
    url: str
    ldaps_url: str
    ca_file: str
    bind_dn: str
    bind_password: str
    admin_dn: str
    admin_password: str
    user_password: str

    def admin(self) -> Connection:
        """A connection as the directory's manager, to change the tree as the district would."""
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file)
        connection = Connection(
            Server(self.url, tls=tls), user=self.admin_dn, password=self.admin_password
        )
        connection.open()
        connection.start_tls()
        assert connection.bind(), connection.result
        return connection


@pytest.fixture(scope="module")
def slapd() -> Slapd:
    return Slapd(
        url=service_env("EAKTE_TEST_LDAP_URL"),
        ldaps_url=service_env("EAKTE_TEST_LDAPS_URL"),
        ca_file=service_env("EAKTE_TEST_LDAP_CA_FILE"),
        bind_dn=service_env("EAKTE_TEST_LDAP_BIND_DN"),
        bind_password=service_env("EAKTE_TEST_LDAP_BIND_PASSWORD"),
        admin_dn=service_env("EAKTE_TEST_LDAP_ADMIN_DN"),
        admin_password=service_env("EAKTE_TEST_LDAP_ADMIN_PASSWORD"),
        user_password=service_env("EAKTE_TEST_LDAP_USER_PASSWORD"),
    )


def ldap_settings(slapd: Slapd, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "ldap_url": slapd.url,
        "ldap_security": "starttls",
        "ldap_ca_file": Path(slapd.ca_file),
        "ldap_bind_dn": slapd.bind_dn,
        "ldap_bind_password": slapd.bind_password,
        "ldap_user_base": PEOPLE,
        "ldap_group_base": GROUPS,
        "identity_group_roles": ROLES,
        "identity_group_teams": TEAMS,
        "ldap_timeout_seconds": 3,
    }
    values.update(overrides)
    return values


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[MakeRuntime]:
    built: list[Runtime] = []

    def make(**settings: object) -> Runtime:
        runtime = build_runtime(make_settings(tmp_path / f"data{len(built)}", **settings))
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        runtime.close()


@pytest.fixture
def runtime(slapd: Slapd, make_runtime: MakeRuntime) -> Runtime:
    return make_runtime(**ldap_settings(slapd))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign_in(runtime: Runtime, login: str, password: str) -> tuple[User, str]:
    return log_in(runtime.sessions, runtime.settings, login, password, ADDRESS)


def session_count(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(LoginSession)) or 0)


def audit_rows(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


def account(runtime: Runtime, login: str) -> User:
    with transaction(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        session.expunge(user)
        return user


def add_local_account(runtime: Runtime, login: str, *, break_glass: bool) -> None:
    with transaction(runtime.sessions) as session:
        session.add(User(login=login, name="Notfall", role="admin", active=True))
        session.flush()
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        user.password_hash = hash_password(LOCAL_PASSWORD)
        if break_glass:
            set_break_glass(session, login, True)


class People:
    """People this test adds to the directory, changed as the district would change them;
    removed again when the test ends."""

    def __init__(self, slapd: Slapd) -> None:
        self.slapd = slapd
        self.admin = slapd.admin()
        self.dns: dict[str, list[str]] = {}  # uid: every DN it had, the current one last

    def add(self, *groups: str) -> str:
        uid = f"t{uuid.uuid4().hex[:10]}"
        attributes = {
            "uid": uid,
            "cn": f"Test {uid}",
            "sn": uid,
            "mail": f"{uid}@jobcenter.test",
            "userPassword": self.slapd.user_password,
        }
        self.dns[uid] = [f"uid={uid},{PEOPLE}"]
        assert self.admin.add(self.dn(uid), ["inetOrgPerson"], attributes), self.admin.result
        for group in groups:
            self.move(uid, into=group)
        return uid

    def dn(self, uid: str) -> str:
        return self.dns[uid][-1]

    def move(self, uid: str, *, into: str | None = None, out_of: str | None = None) -> None:
        for group, change in ((into, MODIFY_ADD), (out_of, MODIFY_DELETE)):
            if group:
                changes = {"member": [(change, [self.dn(uid)])]}
                assert self.admin.modify(f"cn={group},{GROUPS}", changes), self.admin.result

    def relocate(self, uid: str, unit: str) -> None:
        """Move the entry into another organisational unit below ou=people (a new DN)."""
        superior = f"ou={unit},{PEOPLE}"
        self.admin.add(superior, ["organizationalUnit"], {"ou": unit})  # may exist already
        assert self.admin.modify_dn(self.dn(uid), f"uid={uid}", new_superior=superior), (
            self.admin.result
        )
        self.dns[uid].append(f"uid={uid},{superior}")

    def lock(self, uid: str) -> None:
        changes = {"pwdAccountLockedTime": [(MODIFY_ADD, ["000001010000Z"])]}
        assert self.admin.modify(self.dn(uid), changes), self.admin.result

    def remove(self, uid: str) -> None:
        for group in [name.split(",")[0].removeprefix("cn=") for name in [*ROLES, *TEAMS]]:
            for dn in self.dns[uid]:  # not a member: refused, nothing to do
                self.admin.modify(f"cn={group},{GROUPS}", {"member": [(MODIFY_DELETE, [dn])]})
        assert self.admin.delete(self.dn(uid)), self.admin.result
        del self.dns[uid]


@pytest.fixture
def people(slapd: Slapd) -> Iterator[People]:
    added = People(slapd)
    yield added
    for uid in list(added.dns):
        added.remove(uid)
    added.admin.unbind()


# --- settings, no directory needed -----------------------------------------------------------


def test_plain_ldap_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    base = {**ELSEWHERE, "ldap_url": "ldap://dc1.kreis.example:389"}
    del base["ldap_security"]
    with pytest.raises(ConfigurationError, match="plain"):
        make_settings(tmp_path, ldap_security="plain", **base)
    assert make_settings(tmp_path, ldap_security="plain", demo=True, **base).ldap_url
    with pytest.raises(ConfigurationError, match="LDAP_USER_FILTER"):
        make_settings(tmp_path, ldap_user_filter="(uid=x)", **base)
    with pytest.raises(ConfigurationError, match="must begin with ldaps://"):
        make_settings(tmp_path, **{**ELSEWHERE, "ldap_url": "ldap://dc1.kreis.example"})
    with pytest.raises(ConfigurationError, match="BIND_PASSWORD"):
        make_settings(tmp_path, **{**base, "ldap_bind_password": None})


def test_one_process_takes_each_scheduled_sync_round(
    make_runtime: MakeRuntime, database_url: str
) -> None:
    runtime = make_runtime(**ELSEWHERE, ldap_sync_minutes=30, database_url=database_url)
    claims: list[bool] = []

    def claim() -> None:
        claims.append(directory.claim_scheduled_sync(runtime.sessions, runtime.settings))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False, False, False, True]
    assert not directory.claim_scheduled_sync(runtime.sessions, runtime.settings)
    assert [row.outcome for row in audit_rows(runtime, "directory.sync")] == ["started"]


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        ("52e", LOGIN_FAILED, "login_failed"),  # wrong password
        ("775", directory.LOCKED, "account_locked"),  # locked out after failed attempts
        ("533", directory.LOCKED, "account_locked"),  # disabled
        ("532", directory.PASSWORD_EXPIRED, "password_expired"),
        ("773", directory.PASSWORD_EXPIRED, "password_expired"),  # must change at next logon
    ],
)
def test_active_directory_says_why_a_bind_failed(data: str, message: str, code: str) -> None:
    # What Active Directory answers a refused bind (result 49, the reason in "data").
    result = {
        "result": 49,
        "message": f"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, "
        f"data {data}, v4563\x00",
    }
    refused = directory.bind_refused(result)
    assert isinstance(refused, NotAuthenticated)
    assert (refused.message, refused.code) == (message, code)
    busy = directory.bind_refused({"result": 51, "message": "busy"})
    assert isinstance(busy, DirectoryUnavailable)


def test_the_login_page_says_to_use_the_directory_account(make_runtime: MakeRuntime) -> None:
    from app.product import create_product_app

    plain = TestClient(create_product_app(make_runtime())).get("/anmelden")
    assert plain.status_code == 200 and "Windows-Kontos" not in plain.text
    runtime = make_runtime(**ELSEWHERE)
    page = TestClient(create_product_app(runtime)).get("/anmelden")
    assert "Benutzernamen und Passwort Ihres Windows-Kontos" in page.text


# --- against the real directory ---------------------------------------------------------------


@pytest.mark.services
@pytest.mark.parametrize("over", ["starttls", "ldaps"])
def test_sign_in_creates_the_account_with_the_mapped_role_and_team(
    slapd: Slapd,
    tmp_path: Path,
    make_runtime: MakeRuntime,
    over: str,
) -> None:
    url = slapd.url if over == "starttls" else slapd.ldaps_url
    secret: dict[str, object] = {}
    if over == "ldaps":  # the service account's password from a file (a container secret)
        secret_file = tmp_path / "ldap-bind-passwort"
        secret_file.write_text(slapd.bind_password + "\n")
        secret = {"ldap_bind_password": None, "ldap_bind_password_file": secret_file}
    runtime = make_runtime(**ldap_settings(slapd, ldap_url=url, ldap_security=over, **secret))
    user, token = sign_in(runtime, "lmeier", slapd.user_password)
    stored = account(runtime, "lmeier")
    assert (stored.source, stored.external_id) == ("ldap", f"uid=lmeier,{PEOPLE}")
    assert (stored.role, stored.name, stored.email) == ("leistung", "Lena Meier", user.email)
    assert stored.email == "lena.meier@jobcenter.test"
    assert stored.last_login_at is not None and stored.active
    with transaction(runtime.sessions) as session:
        opened = session_for_token(
            session, runtime.settings.secret_key.get_secret_value(), token, idle_minutes=30
        )
        assert opened.auth_method == "ldap"
        assert opened.user.team is not None and opened.user.team.name == "Leistung 1"
    [login] = audit_rows(runtime, "auth.login")
    assert (login.actor_login, login.outcome, login.details["method"]) == ("lmeier", "ok", "ldap")
    # The case manager: by group name, another team.
    sign_in(runtime, "fkraus", slapd.user_password)
    assert account(runtime, "fkraus").role == "fallmanagement"


@pytest.mark.services
@pytest.mark.parametrize(
    ("login", "password", "message", "code"),
    [
        ("lmeier", "falsches-passwort", LOGIN_FAILED, "login_failed"),
        ("gsperre", None, directory.LOCKED, "account_locked"),
        ("okantine", None, NO_ROLE, "no_mapped_group"),
        ("niemand", None, LOGIN_FAILED, "not_in_directory"),
        # The filter is escaped: a wildcard or a second condition finds nobody.
        ("*", None, LOGIN_FAILED, "not_in_directory"),
        ("lmeier)(uid=*", None, LOGIN_FAILED, "not_in_directory"),
    ],
)
def test_refused_sign_ins_say_why_in_german_and_open_no_session(
    slapd: Slapd, runtime: Runtime, login: str, password: str | None, message: str, code: str
) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        sign_in(runtime, login, password or slapd.user_password)
    assert (refused.value.message, refused.value.code) == (message, code)
    assert session_count(runtime) == 0
    [row] = audit_rows(runtime, "auth.login")
    assert (row.actor_login, row.outcome, row.details["code"]) == (login, "refused", code)
    # Nobody outside the mapped groups gets an account.
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.services
def test_wrong_passwords_at_the_directory_are_throttled_but_an_outage_is_not(
    slapd: Slapd, make_runtime: MakeRuntime
) -> None:
    runtime = make_runtime(**ldap_settings(slapd, login_failures_per_account=2))
    down = make_runtime(
        **ldap_settings(
            slapd,
            ldap_url=f"ldap://127.0.0.1:{closed_port()}",
            database_url=runtime.settings.resolved_database_url,
            login_failures_per_account=2,
        )
    )
    for _ in range(3):  # the directory being down counts against nobody
        with pytest.raises(DirectoryUnavailable):
            sign_in(down, "lmeier", slapd.user_password)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            sign_in(runtime, "lmeier", "falsches-passwort")
    with pytest.raises(LoginThrottled):
        sign_in(runtime, "lmeier", slapd.user_password)
    # Typed in capitals: the same person and account, once the wait is over.
    with transaction(runtime.sessions) as session:
        session.execute(delete(LoginThrottle))
    user, _token = sign_in(runtime, "LMeier", slapd.user_password)
    assert user.login == "lmeier"


@pytest.mark.services
def test_a_directory_that_is_down_refuses_but_break_glass_accounts_still_work(
    slapd: Slapd,
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(**ldap_settings(slapd, ldap_url=f"ldap://127.0.0.1:{closed_port()}"))
    with pytest.raises(DirectoryUnavailable) as refused:
        sign_in(runtime, "lmeier", slapd.user_password)
    assert refused.value.message.startswith("Der Verzeichnisdienst ist nicht erreichbar")
    assert refused.value.status == 503
    assert session_count(runtime) == 0
    [row] = audit_rows(runtime, "auth.login")
    assert (row.outcome, row.details["code"]) == ("refused", "directory_unavailable")

    add_local_account(runtime, "notfall", break_glass=True)
    user, _token = sign_in(runtime, "notfall", LOCAL_PASSWORD)
    assert user.login == "notfall" and session_count(runtime) == 1
    [used] = audit_rows(runtime, "auth.break_glass")
    assert (used.actor_login, used.outcome, used.details["method"]) == ("notfall", "ok", "local")
    # The data protection officer's audit search shows it as such.
    assert privacy.action_label(used.action) == "Anmeldung mit Notfallkonto"
    [marked] = audit_rows(runtime, "user.break_glass")
    assert marked.details == {"login": "notfall", "break_glass": True}


@pytest.mark.services
@pytest.mark.parametrize(
    "wrong",
    [
        # Without the district's CA the server's certificate is not trusted: no bind at all.
        {"ldap_ca_file": None},
        {"ldap_ca_file": None, "ldap_url": "ldap://127.0.0.1:{port}", "ldap_security": "starttls"},
        # The service account refused: a configuration fault, never "wrong password".
        {"ldap_bind_password": "nicht-das-passwort"},
    ],
)
def test_a_directory_that_cannot_be_trusted_or_used_is_unavailable(
    slapd: Slapd, make_runtime: MakeRuntime, wrong: dict[str, object]
) -> None:
    settings = ldap_settings(slapd, ldap_url=slapd.ldaps_url, ldap_security="ldaps")
    settings.update(wrong)
    settings["ldap_url"] = str(settings["ldap_url"]).format(port=slapd.url.rsplit(":", 1)[1])
    runtime = make_runtime(**settings)
    with pytest.raises(DirectoryUnavailable) as refused:
        sign_in(runtime, "lmeier", slapd.user_password)
    assert refused.value.message == directory.UNAVAILABLE
    assert session_count(runtime) == 0


@pytest.mark.services
def test_local_passwords_work_only_for_break_glass_accounts(slapd: Slapd, runtime: Runtime) -> None:
    add_local_account(runtime, "lokal", break_glass=False)
    with pytest.raises(NotAuthenticated) as refused:
        sign_in(runtime, "lokal", LOCAL_PASSWORD)
    assert refused.value.message == LOGIN_FAILED
    assert session_count(runtime) == 0
    with transaction(runtime.sessions) as session:
        set_break_glass(session, "lokal", True)
    sign_in(runtime, "lokal", LOCAL_PASSWORD)
    assert [row.actor_login for row in audit_rows(runtime, "auth.break_glass")] == ["lokal"]
    [refusal] = audit_rows(runtime, "auth.login")
    assert (refusal.outcome, refusal.details["code"]) == ("refused", "not_in_directory")
    # A directory account cannot be made a break-glass account.
    sign_in(runtime, "wschulz", slapd.user_password)
    with pytest.raises(Exception, match="nur lokale"), transaction(runtime.sessions) as session:
        set_break_glass(session, "wschulz", True)


@pytest.mark.services
@pytest.mark.parametrize("membership", ["search", "memberof"])
def test_a_group_change_gives_the_new_role_at_sync_and_at_sign_in(
    slapd: Slapd, make_runtime: MakeRuntime, people: People, membership: str
) -> None:
    # memberof: the entry's memberOf, as Active Directory has it (slapd: the dynlist overlay)
    runtime = make_runtime(**ldap_settings(slapd, ldap_group_membership=membership))
    uid = people.add("eakte-leistung", "team-leistung-1")
    sign_in(runtime, uid, slapd.user_password)
    assert account(runtime, uid).role == "leistung"

    people.move(uid, into="eakte-widerspruch", out_of="eakte-leistung")
    people.move(uid, out_of="team-leistung-1")
    report = directory.sync(runtime.sessions, runtime.settings)
    moved = account(runtime, uid)
    assert (moved.role, moved.team_id, moved.active) == ("widerspruch", None, True)
    assert (report.checked, report.updated, report.deactivated) == (1, 1, 0)
    assert report.german().startswith("Verzeichnisabgleich: 1 Konten geprüft, 1 aktualisiert")

    people.move(uid, into="eakte-fallmanagement", out_of="eakte-widerspruch")
    user, _token = sign_in(runtime, uid, slapd.user_password)
    assert user.role == account(runtime, uid).role == "fallmanagement"
    changes = [row.details["changes"] for row in audit_rows(runtime, "user.provisioned")]
    assert changes[1]["role"] == ["leistung", "widerspruch"]
    assert changes[2]["role"] == ["widerspruch", "fallmanagement"]


@pytest.mark.services
def test_an_entry_moved_in_the_directory_keeps_its_account(
    slapd: Slapd, runtime: Runtime, people: People
) -> None:
    uid = people.add("eakte-leistung")
    first, _token = sign_in(runtime, uid, slapd.user_password)
    people.relocate(uid, "husum")
    people.move(uid, into="eakte-leistung")  # no referential integrity in the test directory
    again, _token = sign_in(runtime, uid, slapd.user_password)
    assert again.id == first.id
    assert account(runtime, uid).external_id == f"uid={uid},ou=husum,{PEOPLE}"


@pytest.mark.services
def test_sync_deactivates_who_left_the_directory_and_ends_their_session(
    slapd: Slapd,
    runtime: Runtime,
    people: People,
) -> None:
    leaving = people.add("eakte-leistung")
    outside = people.add("eakte-scanstelle")
    locked = people.add("eakte-leistung")
    staying = people.add("eakte-leistung")
    ending = (leaving, outside, locked)
    tokens = {uid: sign_in(runtime, uid, slapd.user_password)[1] for uid in ending}
    sign_in(runtime, staying, slapd.user_password)
    people.remove(leaving)
    people.move(outside, out_of="eakte-scanstelle")
    people.lock(locked)

    report = directory.sync(runtime.sessions, runtime.settings)
    assert (report.checked, report.deactivated, report.unchanged) == (4, 3, 1)
    assert account(runtime, leaving).deactivated_reason == directory.GONE
    assert account(runtime, outside).deactivated_reason == directory.NO_GROUP
    assert account(runtime, locked).deactivated_reason == directory.LOCKED_THERE
    assert not account(runtime, leaving).active and account(runtime, staying).active
    secret = runtime.settings.secret_key.get_secret_value()
    for token in tokens.values():
        with pytest.raises(NotAuthenticated), transaction(runtime.sessions) as session:
            session_for_token(session, secret, token, idle_minutes=30)
    assert session_count(runtime) == 1  # the one who stays
    [synced] = audit_rows(runtime, "directory.sync")
    assert synced.details["deactivated"] == 3
    # Whoever left cannot sign in again.
    with pytest.raises(NotAuthenticated):
        sign_in(runtime, leaving, slapd.user_password)


@pytest.mark.services
def test_the_scheduled_sync_deactivates_who_left(
    slapd: Slapd, runtime: Runtime, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The thread `eakte serve` starts; it looks every CHECK_SECONDS whether a round is due.
    monkeypatch.setattr(directory, "CHECK_SECONDS", 0.2)
    uid = people.add("eakte-leistung")
    sign_in(runtime, uid, slapd.user_password)
    people.remove(uid)
    stop = threading.Event()
    thread = directory.start_scheduled_sync(runtime.sessions, runtime.settings, stop)
    assert thread is not None
    try:
        wait_for(lambda: not account(runtime, uid).active, 30, "the scheduled sync")
    finally:
        stop.set()
        thread.join(10)
    # One round in the interval (60 minutes by default): started, then its counts.
    assert [row.outcome for row in audit_rows(runtime, "directory.sync")] == ["started", "ok"]
    assert session_count(runtime) == 0


@pytest.mark.services
@pytest.mark.parametrize(
    "fault",
    [
        {"ldap_url": "ldap://127.0.0.1:{closed}"},  # down
        {"ldap_user_base": f"ou=gibt-es-nicht,{BASE}"},  # a base that does not exist
        {"ldap_user_base": f"ou=services,{BASE}"},  # a base with none of the people
    ],
)
def test_a_directory_that_is_down_or_misconfigured_deactivates_nobody(
    slapd: Slapd, make_runtime: MakeRuntime, fault: dict[str, str]
) -> None:
    runtime = make_runtime(**ldap_settings(slapd))
    for login in ("sbecker", "wschulz"):
        sign_in(runtime, login, slapd.user_password)
    # The same database, the directory out of reach or asked in the wrong place.
    wrong = {key: value.format(closed=closed_port()) for key, value in fault.items()}
    database = runtime.settings.resolved_database_url
    broken = make_runtime(**ldap_settings(slapd, database_url=database, **wrong))
    with pytest.raises(DirectoryUnavailable) as refused:
        directory.sync(broken.sessions, broken.settings)
    if "services" in str(fault):
        assert refused.value.message == directory.NOBODY_FOUND
    assert account(runtime, "sbecker").active and account(runtime, "wschulz").active
    assert [row.outcome for row in audit_rows(runtime, "directory.sync")] == ["failed"]


@pytest.mark.services
def test_the_api_signs_in_through_the_directory(
    slapd: Slapd, runtime: Runtime, make_runtime: MakeRuntime
) -> None:
    client = TestClient(create_app(runtime))

    def post(login: str) -> httpx.Response:  # through whichever `client` is current
        body = {"login": login, "password": slapd.user_password}
        return client.post("/api/auth/login", json=body)

    locked = post("gsperre")
    assert locked.status_code == 401
    assert locked.json()["error"]["message"] == directory.LOCKED
    assert not locked.cookies
    answer = post("dschutz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "datenschutz"
    assert client.get("/api/auth/me").json()["login"] == "dschutz"

    down = make_runtime(**ldap_settings(slapd, ldap_url=f"ldap://127.0.0.1:{closed_port()}"))
    client = TestClient(create_app(down))
    unavailable = post("dschutz")
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["message"] == directory.UNAVAILABLE
    assert not unavailable.cookies
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.services
def test_the_commands_sync_and_mark_break_glass_accounts(
    slapd: Slapd,
    runtime: Runtime,
    people: People,
) -> None:
    uid = people.add("eakte-admin")
    sign_in(runtime, uid, slapd.user_password)
    people.remove(uid)
    env = cli_env(
        runtime.settings.data_dir,
        EAKTE_LDAP_URL=slapd.url,
        EAKTE_LDAP_CA_FILE=slapd.ca_file,
        EAKTE_LDAP_BIND_DN=slapd.bind_dn,
        EAKTE_LDAP_BIND_PASSWORD=slapd.bind_password,
        EAKTE_LDAP_USER_BASE=PEOPLE,
        EAKTE_LDAP_GROUP_BASE=GROUPS,
        EAKTE_IDENTITY_GROUP_ROLES=json.dumps(ROLES),
    )
    synced = run_cli(env, "directory", "sync")
    assert synced.returncode == 0, synced.stderr
    assert "1 Konten geprüft, 0 aktualisiert, 1 deaktiviert" in synced.stdout
    assert not account(runtime, uid).active

    add_local_account(runtime, "notfall", break_glass=False)
    marked = run_cli(env, "user", "break-glass", "notfall", "--on")
    assert marked.returncode == 0 and "Notfallkonto" in marked.stdout
    assert account(runtime, "notfall").break_glass
    refused = run_cli(env, "user", "break-glass", uid, "--on")
    assert refused.returncode == 1 and "nur lokale" in refused.stderr
    run_cli(env, "user", "break-glass", "notfall", "--off")
    assert not account(runtime, "notfall").break_glass

    down = run_cli(
        {**env, "EAKTE_LDAP_URL": f"ldap://127.0.0.1:{closed_port()}"}, "directory", "sync"
    )
    assert down.returncode == 1
    assert "Der Verzeichnisdienst ist nicht erreichbar" in down.stderr
