"""The one settings object of the product, read from `EAKTE_*` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigurationError

# Known only so that it can be refused: a deployment must set its own key.
DEMO_SECRET_KEY = "demo-only-secret-key-do-not-use-in-production"

REPO_DIR = Path(__file__).resolve().parent.parent

# issue 13, mail: the hosts a mailbox without TLS may be on.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EAKTE_", extra="ignore")

    demo: bool = False
    data_dir: Path = Path("data")
    samples_dir: Path = REPO_DIR.parent / "shared" / "samples"

    database_url: str | None = None
    # PostgreSQL: the schema owner's URL. When set, migrations run with it, and the role of
    # `database_url` (the runtime role) is granted what the product needs and no more: it
    # may only insert and read the audit log and owns nothing (records/db_roles.py). Unset:
    # migrations run with `database_url`, as on the embedded default.
    migration_database_url: str | None = None

    blob_store: Literal["local", "s3"] = "local"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = False
    s3_region: str = "eu-central-1"
    s3_bucket: str = "eakte"
    # Object lock makes stored originals immutable for the retention period (WORM).
    s3_object_lock: bool = False
    s3_retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    s3_retention_days: int = Field(default=0, ge=0)

    search_index: Literal["embedded", "opensearch"] = "embedded"
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_user: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_verify_certs: bool = True
    # CA certificate (PEM) that signed OpenSearch's TLS certificate, e.g. a private CA.
    opensearch_ca_certs: Path | None = None
    opensearch_index: str = "eakte-documents"

    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    session_hours: int = Field(default=10, ge=1)
    cookie_secure: bool = False
    # Origins besides the request's own (scheme://host[:port]) whose pages may send changing
    # requests, e.g. the public address when a proxy rewrites the Host header; see api/csrf.py.
    trusted_origins: list[str] = Field(default_factory=list)
    # Request bodies of JSON and form routes; only the upload routes take max_upload_mb.
    max_json_kb: int = Field(default=1024, ge=1)
    # Failed logins: after this many per account or per client address within the window,
    # further attempts wait, starting at login_delay_seconds and doubling up to the cap.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_delay_seconds: int = Field(default=30, ge=1)
    login_delay_max_minutes: int = Field(default=15, ge=1)
    # A session unused this long ends (besides session_hours after login).
    session_idle_minutes: int = Field(default=30, ge=1)
    # /docs, /redoc and /openapi.json; unset: on in demo mode only.
    api_docs: bool | None = None

    max_upload_mb: int = Field(default=200, ge=1)
    max_image_pixels: int = Field(default=200_000_000, ge=1)
    max_batch_pages: int = Field(default=1000, ge=1)
    # Longest side of a PDF page, in mm (A0 is 841 x 1189). A page of a few hundred bytes can
    # declare metres of paper, which would take minutes and gigabytes to render for OCR; such
    # pages, and pages over max_image_pixels at ocr_dpi, are refused at upload.
    max_page_mm: int = Field(default=1200, ge=100)

    # Network scanners write here; see ingest/hotfolder.py. Unset: no hot folder.
    hot_folder: Path | None = None
    hot_folder_settle_seconds: float = Field(default=3.0, ge=0)
    hot_folder_poll_seconds: float = Field(default=2.0, gt=0)

    # One worker per core: a worker reads the pages of one batch side by side, and several
    # workers keep every core busy when the batches are single letters.
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)
    # Web app processes of `eakte serve`, one per core: search, snippets and pages are Python
    # work, and one process runs Python on one core at a time (measured in bench/search.py:
    # 8 clients on 2 cores at 100,000 documents, p95 76 ms in one process against 46 ms in two).
    web_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # How long `serve` waits for a web process to answer its supervisor's ping before it counts
    # the process as hung and replaces it. A process still importing on a busy machine needs
    # more than uvicorn's 5 s: with 5 s, at a load of 10 on 2 cores, every web process was
    # killed while starting and `serve` never answered.
    web_process_healthcheck_seconds: int = Field(default=60, ge=1)
    job_lease_seconds: int = Field(default=120, ge=1)
    job_max_attempts: int = Field(default=3, ge=1)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    # A worker that cannot reach the database (SQLite locked past the busy timeout, PostgreSQL
    # gone) waits and tries again, doubling the pause from job_poll_seconds up to this.
    job_retry_max_seconds: float = Field(default=30.0, gt=0)
    # How long an SQLite writer waits for another's write lock before "database is locked".
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    ocr_languages: str = "deu+eng"
    # Scans below this resolution are rendered up to it for OCR; others are read as scanned.
    # 200-dpi letters read at 200 dpi gave the same recall as rendered up to 300 dpi (0.980
    # against 0.977 on 13 samples) with a quarter less tesseract time; see bench/README.md.
    ocr_dpi: int = Field(default=200, ge=72, le=600)
    ocr_timeout_seconds: int = Field(default=180, ge=1)
    # The document-type catalogue (types, phrases, target role); unset: the shipped default,
    # ingest/recognition/doctypes.toml. Administrators copy that file and edit it.
    doctypes_file: Path | None = None

    # Printed on the cover of every file export (Aktenauszug).
    job_centre_name: str = "Jobcenter"

    # The longest deputy period (Vertretung) one entry may cover, in days: a deputy sees the
    # absent colleague's whole caseload, so it lasts no longer than the absence.
    deputy_max_days: int = Field(default=42, ge=1, le=366)
    # Scanned letters reach the case file and the Postkorb only after the desk's quality check
    # (decided when a letter is filed; what caseworkers file themselves needs no check).
    qa_required: bool = True

    # Pages worked on at once on this machine, shared by all its workers (ingest/slots.py).
    ocr_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    # issue 13, mail
    # The function mailbox (IMAP) whose messages become intake batches like an .eml handed in
    # at the desk (ingest/mailbox.py). Off while no host is set. Each message is taken once
    # (its Message-ID is remembered), then moved to the done folder; a broken one goes to the
    # quarantine folder with a German reason.
    mailbox_host: str | None = None
    # Default: 993 with implicit TLS, 143 with STARTTLS or plain.
    mailbox_port: int | None = Field(default=None, ge=1, le=65535)
    # "tls": implicit TLS; "starttls": STARTTLS required; "plain": only to this machine.
    mailbox_security: Literal["tls", "starttls", "plain"] = "tls"
    mailbox_user: str | None = None
    mailbox_password: SecretStr | None = None
    # A file holding the password (first line), e.g. a container secret; instead of the above.
    mailbox_password_file: Path | None = None
    # CA certificates to trust besides the system's (a server with an internal CA).
    mailbox_ca_file: Path | None = None
    mailbox_folder: str = "INBOX"
    mailbox_done_folder: str = "Erledigt"
    mailbox_quarantine_folder: str = "Quarantaene"
    mailbox_poll_seconds: float = Field(default=60.0, gt=0)
    mailbox_timeout_seconds: float = Field(default=60.0, gt=0)

    # issue 14, errors
    # A job that failed because the installation lacks a program or a language pack (tesseract,
    # poppler) waits this long before the next try; such a try does not use up an attempt.
    job_configuration_retry_seconds: float = Field(default=300.0, gt=0)
    # A job that met an unreachable backend (blob store) waits this long, without using up an
    # attempt, and tries again (issue 20: a long storage outage loses no letter).
    job_outage_retry_seconds: float = Field(default=30.0, gt=0)
    # How much lower a worker process's CPU priority is than the web app's (nice, 0-19): OCR
    # uses every core it gets; the caseworkers' requests come first.
    worker_nice: int = Field(default=10, ge=0, le=19)

    @model_validator(mode="after")
    def _check_mailbox(self) -> Settings:
        if not self.mailbox_host:
            return self
        if not self.mailbox_user:
            raise ConfigurationError("EAKTE_MAILBOX_USER must be set with EAKTE_MAILBOX_HOST")
        if (self.mailbox_password is None) == (self.mailbox_password_file is None):
            raise ConfigurationError(
                "set exactly one of EAKTE_MAILBOX_PASSWORD and EAKTE_MAILBOX_PASSWORD_FILE"
            )
        if self.mailbox_security == "plain" and self.mailbox_host.lower() not in LOCAL_HOSTS:
            raise ConfigurationError(
                "EAKTE_MAILBOX_SECURITY=plain sends the password unencrypted and is allowed "
                "only for a server on this machine (localhost); use tls or starttls"
            )
        folders = {self.mailbox_folder, self.mailbox_done_folder, self.mailbox_quarantine_folder}
        if len(folders) != 3:
            raise ConfigurationError(
                "EAKTE_MAILBOX_FOLDER, _DONE_FOLDER and _QUARANTINE_FOLDER must differ"
            )
        return self

    @property
    def mailbox_enabled(self) -> bool:
        return bool(self.mailbox_host)

    @property
    def resolved_mailbox_port(self) -> int:
        if self.mailbox_port is not None:
            return self.mailbox_port
        return 993 if self.mailbox_security == "tls" else 143

    # issue 13, digital
    # A text attachment of an e-mail longer than this many pages is shown by its first pages
    # and a note how much was left out; the attachment itself is kept whole as a blob.
    email_text_attachment_pages: int = Field(default=5, ge=1, le=1000)

    # issue 15, live15
    # An open Postkorb or E-Akte asks this often whether anything changed for its user (a
    # cheap change token, 304 when nothing did); not while the browser tab is hidden.
    live_poll_seconds: float = Field(default=15, ge=1, le=600)
    # The server answers a user's asks about one page at most this often (per web process);
    # a faster client is told to wait (429 with Retry-After), so one user cannot load it.
    live_min_poll_seconds: float = Field(default=5, ge=0, le=600)
    # Saved views (Postkorb) a user may keep.
    saved_views_max: int = Field(default=20, ge=1, le=200)

    # issue 16, lead: groups of the directory and the identity provider to roles and teams
    # (records/identity.py). Keys are group DNs or names (case does not matter), e.g.
    # EAKTE_IDENTITY_GROUP_ROLES='{"cn=leistung,ou=gruppen,dc=jc,dc=de": "leistung"}'.
    identity_group_roles: dict[str, str] = Field(default_factory=dict)
    identity_group_teams: dict[str, str] = Field(default_factory=dict)

    # issue 16, catalog16: the document-type catalogue as an administration page. The preview
    # re-reads this many of the last letters' stored text; a process looks for a newly saved
    # version at most this often (the pipeline looks for every job).
    catalogue_preview_letters: int = Field(default=200, ge=1, le=5000)
    catalogue_check_seconds: float = Field(default=5.0, ge=0)

    # issue 16, dir16: sign-in through the district's directory (LDAP, Active Directory;
    # records/directory.py). Off while no URL is set. With a directory every account signs in
    # there; local passwords work only for break-glass accounts (and demo accounts in demo
    # mode). E.g. ldap://dc1.kreis.local:389 with starttls, ldaps://dc1.kreis.local:636.
    ldap_url: str | None = None
    # "starttls" (ldap://, then StartTLS), "ldaps" (TLS from the start); "plain" sends the
    # passwords unencrypted and is allowed in demo mode only.
    ldap_security: Literal["starttls", "ldaps", "plain"] = "starttls"
    # CA certificates to trust besides the system's (the district's internal CA).
    ldap_ca_file: Path | None = None
    # The service account the users and groups are searched with (read only).
    ldap_bind_dn: str | None = None
    ldap_bind_password: SecretStr | None = None
    # A file holding the service account's password (first line); instead of the above.
    ldap_bind_password_file: Path | None = None
    ldap_user_base: str = ""
    # {login} is replaced by the escaped user name typed at sign-in. Active Directory:
    # (&(objectClass=user)(sAMAccountName={login})).
    ldap_user_filter: str = "(&(objectClass=inetOrgPerson)(uid={login}))"
    # The attributes of the entry: user name (AD: sAMAccountName), name (AD: displayName), mail.
    ldap_login_attribute: str = "uid"
    ldap_name_attribute: str = "cn"
    ldap_mail_attribute: str = "mail"
    # Group membership: "search" looks for groups under ldap_group_base with ldap_group_filter
    # ({dn}: the user's DN, escaped); "memberof" reads the entry's memberOf attribute (AD, or
    # OpenLDAP with the memberof overlay). AD with nested groups:
    # (member:1.2.840.113556.1.4.1941:={dn}).
    ldap_group_membership: Literal["search", "memberof"] = "search"
    ldap_group_base: str = ""
    ldap_group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    # An entry matching this filter is locked or disabled: AD's "account disabled" bit and
    # OpenLDAP's password policy lock. Attributes a server does not know match nothing.
    ldap_locked_filter: str = (
        "(|(pwdAccountLockedTime=*)(userAccountControl:1.2.840.113556.1.4.803:=2))"
    )
    ldap_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # How often `eakte serve` compares the directory with its accounts (0: never; the command
    # `eakte directory sync` still does).
    ldap_sync_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _check_directory(self) -> Settings:
        if not self.ldap_url:
            return self
        if self.ldap_security == "plain" and not self.demo:
            raise ConfigurationError(
                "EAKTE_LDAP_SECURITY=plain sends passwords unencrypted and is allowed in demo "
                "mode only; use starttls or ldaps"
            )
        scheme = "ldaps://" if self.ldap_security == "ldaps" else "ldap://"
        if not self.ldap_url.lower().startswith(scheme):
            raise ConfigurationError(
                f"EAKTE_LDAP_URL must begin with {scheme} for "
                f"EAKTE_LDAP_SECURITY={self.ldap_security}"
            )
        if not self.ldap_bind_dn or not self.ldap_user_base:
            raise ConfigurationError(
                "EAKTE_LDAP_BIND_DN and EAKTE_LDAP_USER_BASE must be set with EAKTE_LDAP_URL"
            )
        if (self.ldap_bind_password is None) == (self.ldap_bind_password_file is None):
            raise ConfigurationError(
                "set exactly one of EAKTE_LDAP_BIND_PASSWORD and EAKTE_LDAP_BIND_PASSWORD_FILE"
            )
        if "{login}" not in self.ldap_user_filter:
            raise ConfigurationError("EAKTE_LDAP_USER_FILTER must contain {login}")
        if self.ldap_group_membership == "search" and "{dn}" not in self.ldap_group_filter:
            raise ConfigurationError("EAKTE_LDAP_GROUP_FILTER must contain {dn}")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if not self.demo and self.secret_key.get_secret_value() == DEMO_SECRET_KEY:
            raise ConfigurationError(
                "EAKTE_SECRET_KEY must be set to a secret of your own outside demo mode"
            )
        if len(self.secret_key.get_secret_value()) < 16:
            raise ConfigurationError("EAKTE_SECRET_KEY must have at least 16 characters")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'eakte.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    # issue 16, oidc16: single sign-on with OpenID Connect (records/oidc.py), off while no
    # issuer is set. The provider's discovery document is read from
    # <issuer>/.well-known/openid-configuration; register <base URL>/anmelden/sso/zurueck as
    # redirect URI and <base URL>/anmelden as post-logout redirect URI. Groups are mapped with
    # identity_group_roles / identity_group_teams, as for the directory.
    oidc_issuer: str | None = None
    oidc_client_id: str = "eakte"
    # A confidential client's secret (client_secret_basic); none for a public client (PKCE
    # alone).
    oidc_client_secret: SecretStr | None = None
    # A file holding the secret (first line), e.g. a container secret; instead of the above.
    oidc_client_secret_file: Path | None = None
    oidc_scopes: str = "openid profile email"
    # The ID token claim listing the person's groups, and the one that becomes the login name.
    oidc_groups_claim: str = "groups"
    oidc_login_claim: str = "preferred_username"
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    # What the login page's button says.
    oidc_button_label: str = "Mit Single Sign-on anmelden"

    # issue 17, lead: the records lifecycle. A closed file is kept `retention_years` after
    # the end of the year of its business event (end of benefits, last decision final);
    # job centres use 5, 10 or 13. Shorter (or longer) periods per document type and whether a
    # type is offered to the archive: `retention_rules_file` (TOML, records/retention.toml is
    # the product's). The audit log keeps its rows `audit_retention_years`. The xdomea schemas
    # the messages are checked against ship with the product (records/standards).
    retention_years: int = Field(default=10, ge=1, le=100)
    retention_rules_file: Path | None = None
    audit_retention_years: int = Field(default=2, ge=1, le=30)
    archive_name: str = "Landesarchiv"
    standards_dir: Path = REPO_DIR / "records" / "standards"
    # issue 17, lock17: what else has a period of its own. Master-data drafts (the raw CSV of
    # every household) are removed `import_draft_keep_days` after they were applied (or
    # uploaded, if never applied). With S3 object lock, every object of a file is locked until
    # the last day its computed retention keeps it (never longer, extended only); the sweep
    # runs every `s3_lock_sweep_minutes` in `eakte serve` (0: only by `eakte records lock`).
    # `s3_retention_days` (above) is then only the lock an object gets at upload, before the
    # sweep knows its file: keep it 0 or short (storage.s3 caps it to 31 days).
    import_draft_keep_days: int = Field(default=14, ge=1, le=3650)
    s3_lock_sweep_minutes: int = Field(default=24 * 60, ge=0, le=7 * 24 * 60)

    # issue 18: files that travel. Our name in xdomea hand-overs is `job_centre_name`. The
    # XJustiz 3.5.1 schemas the court folder is checked against are not shipped (their
    # licence is not stated where they are published): `xjustiz_dir` points at them; without
    # them no court folder is released.
    xjustiz_dir: Path = REPO_DIR.parent / "shared" / "standards" / "xjustiz-3.5.1"

    # issue 19: requests for missing documents (Mitwirkungsaufforderung). The deadline a new
    # request proposes (days; moved to the next working day like the objection deadlines), and
    # the warning of the consequences (§ 66 Abs. 3 SGB I) every request letter prints; a job
    # centre's legal department words it, so it is configuration ({frist} is the deadline).
    request_deadline_days: int = Field(default=14, ge=7, le=90)
    request_warning_text: str = (
        "Wenn Sie die angeforderten Unterlagen nicht bis zum {frist} vorlegen und Ihre "
        "fehlende Mitwirkung nicht ausreichend begründen, können die Leistungen nach dem "
        "Zweiten Buch Sozialgesetzbuch (SGB II) bis zur Nachholung der Mitwirkung ganz oder "
        "teilweise versagt oder entzogen werden (§§ 60, 66 Erstes Buch Sozialgesetzbuch – "
        "SGB I). Haben Sie die Unterlagen bereits eingereicht, betrachten Sie dieses Schreiben "
        "bitte als gegenstandslos."
    )

    # issue 20, metrics20: `/metrics` (Prometheus) answers only a scrape that sends
    # `Authorization: Bearer <metrics_token>` (or the first line of `metrics_token_file`, a
    # container secret); without a token the endpoint is off (404).
    # `log_format` "json": every log line (uvicorn, web, workers) one JSON object.
    metrics_token: SecretStr | None = None
    metrics_token_file: Path | None = None
    log_format: Literal["text", "json"] = "text"

    # issue 20, outbox20: index entries still to be written (records.index_outbox) are
    # drained by `eakte serve` and every worker this often (seconds) while any are due.
    index_outbox_seconds: float = Field(default=5.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.oidc_client_secret is not None and self.oidc_client_secret_file is not None:
            raise ConfigurationError(
                "set at most one of EAKTE_OIDC_CLIENT_SECRET and EAKTE_OIDC_CLIENT_SECRET_FILE"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    # issue 20, cluster20: the clustered deployment. EAKTE_OPENSEARCH_URL and EAKTE_S3_ENDPOINT
    # may name several nodes, comma-separated: every node of the OpenSearch cluster (a request
    # that finds one dead goes to the next), the MinIO processes when no load balancer is in
    # front. EAKTE_DATABASE_URL may list the PostgreSQL primary and its standbys,
    # postgresql+psycopg://user:pw@/db?host=a:5432&host=b:5432&target_session_attrs=read-write:
    # libpq connects to the one that takes writes, also after a standby was promoted.
    # Copies of the index besides the primary shard: 1 or more in a cluster, so that losing a
    # node loses no part of the index (an existing index is set to it when opened).
    opensearch_replicas: int = Field(default=0, ge=0, le=10)
    # Passing blob-store failures (503 SlowDown, a node gone) are tried this often in all, the
    # pause doubling from the base up to the cap, drawn at random below it (storage/retry.py).
    s3_retry_attempts: int = Field(default=6, ge=1, le=20)
    s3_retry_base_seconds: float = Field(default=0.2, gt=0, le=60)
    s3_retry_max_seconds: float = Field(default=5.0, gt=0, le=300)
    # No new try begins after this many seconds: a MinIO without write quorum holds a request
    # until the read timeout instead of refusing it, and the desk waits for the answer.
    s3_retry_total_seconds: float = Field(default=60.0, gt=0, le=3600)
    # How long a request may wait for MinIO's next bytes (connect: at most 5 s).
    s3_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @property
    def opensearch_urls(self) -> list[str]:
        """The OpenSearch nodes of `opensearch_url` (comma-separated)."""
        return split_list(self.opensearch_url)

    @property
    def s3_endpoints(self) -> list[str]:
        """The S3 endpoints of `s3_endpoint` (comma-separated)."""
        return split_list(self.s3_endpoint)


def split_list(value: str) -> list[str]:
    """The non-empty items of a comma-separated setting, stripped; ConfigurationError if none."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ConfigurationError(f"Die Einstellung {value!r} nennt keinen Server")
    return items


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def read_secret(value: SecretStr | None, file: Path | None) -> str:
    """A password from the settings: given directly, or the first line of a file (a
    container secret). ConfigurationError when the file cannot be read."""
    if value is not None:
        return value.get_secret_value()
    assert file is not None
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(
            f"Die Passwortdatei {file} kann nicht gelesen werden: {exc.strerror}"
        ) from None
    return lines[0] if lines else ""
