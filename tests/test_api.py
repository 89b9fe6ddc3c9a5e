"""The HTTP API as the scanning desk and caseworkers use it."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import func, select

from app.runtime import build_runtime
from core.config import Settings
from core.db import transaction
from core.errors import ConfigurationError
from records.models import AuditEvent, Job, ScanBatch
from records.runtime import Runtime
from records.users import set_password
from tests.support import PASSWORD, add_admin, client_for, load_people, make_settings, sample


@pytest.fixture
def api_runtime(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    return sqlite_runtime


def audit_actions(runtime: Runtime) -> list[tuple[str | None, str, str]]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(AuditEvent.actor_login, AuditEvent.action, AuditEvent.outcome).order_by(
                AuditEvent.id
            )
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_login_sets_a_protected_session_cookie_and_logout_ends_it(api_runtime: Runtime) -> None:
    client = client_for(api_runtime)
    response = client.post("/api/auth/login", json={"login": "post.1", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json() == {
        "login": "post.1",
        "name": "Julia Petersen",
        "role": "scanstelle",
        "team": "Poststelle",
    }
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/auth/me").json()["login"] == "post.1"
    assert client.post("/api/auth/logout").status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_password_is_refused_in_german_and_audited(api_runtime: Runtime) -> None:
    client = client_for(api_runtime)
    response = client.post("/api/auth/login", json={"login": "post.1", "password": "falsch-falsch"})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Anmeldung fehlgeschlagen")
    unknown = client.post("/api/auth/login", json={"login": "niemand", "password": "falsch-falsch"})
    assert unknown.json() == response.json()
    assert ("post.1", "auth.login", "refused") in audit_actions(api_runtime)


def test_demo_accounts_log_in_only_in_demo_mode(tmp_path: Path) -> None:
    demo = build_runtime(make_settings(tmp_path, demo=True))
    load_people(demo)
    with transaction(demo.sessions) as session:
        set_password(session, "post.1", "demo-passwort-123", demo=True)
    body = {"login": "post.1", "password": "demo-passwort-123"}
    assert client_for(demo).post("/api/auth/login", json=body).status_code == 200
    production = build_runtime(make_settings(tmp_path, demo=False))
    refused = client_for(production).post("/api/auth/login", json=body)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "demo_account_refused"


def test_unsafe_default_secret_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="EAKTE_SECRET_KEY"):
        Settings(data_dir=tmp_path)
    assert Settings(data_dir=tmp_path, demo=True).demo


def test_everything_but_health_needs_a_login(api_runtime: Runtime) -> None:
    client = client_for(api_runtime)
    assert client.get("/health").status_code == 200
    assert client.get("/api/search", params={"q": "x"}).status_code == 401
    files = {"file": ("a.pdf", sample("docs/0001.pdf").read_bytes(), "application/pdf")}
    assert client.post("/api/documents", files=files).status_code == 401


def test_caseworkers_cannot_hand_in_scans(api_runtime: Runtime) -> None:
    client = client_for(api_runtime, "lsb.95401.1")
    files = {"file": ("a.pdf", sample("docs/0001.pdf").read_bytes(), "application/pdf")}
    response = client.post("/api/documents", files=files)
    assert response.status_code == 403
    assert "Scanstelle" in response.json()["error"]["message"]


def _encrypted_pdf(tmp_path: Path) -> bytes:
    target = tmp_path / "locked.pdf"
    with pikepdf.open(sample("docs/0002.pdf")) as pdf:
        pdf.save(target, encryption=pikepdf.Encryption(owner="owner-pw", user="user-pw"))
    return target.read_bytes()


def _owner_only_pdf(tmp_path: Path) -> bytes:
    target = tmp_path / "restricted.pdf"
    with pikepdf.open(sample("docs/0002.pdf")) as pdf:
        pdf.save(target, encryption=pikepdf.Encryption(owner="owner-pw", user=""))
    return target.read_bytes()


def _no_pages_pdf(tmp_path: Path) -> bytes:
    target = tmp_path / "empty.pdf"
    pikepdf.new().save(target)
    return target.read_bytes()


def _long_batch(tmp_path: Path) -> bytes:
    target = tmp_path / "long.pdf"
    with pikepdf.open(sample("docs/0001.pdf")) as source, pikepdf.new() as pdf:
        for _ in range(500):
            pdf.pages.append(source.pages[0])
        pdf.save(target)
    return target.read_bytes()


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG that declares a huge page of 1-bit pixels: white rows compress to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


BAD_UPLOADS = {
    "text file": (
        lambda _: b"Sehr geehrte Damen und Herren",
        "unsupported_format",
        "weder ein PDF",
    ),
    "zero bytes": (lambda _: b"", "empty_file", "leer"),
    "truncated pdf": (
        lambda _: sample("docs/0001.pdf").read_bytes()[:30_000],
        "pdf_truncated",
        "unvollständig",
    ),
    "corrupt pdf": (
        lambda _: b"%PDF-1.4\n" + b"\x00garbage" * 200 + b"\n%%EOF\n",
        "pdf_corrupt",
        "beschädigt",
    ),
    "password pdf": (_encrypted_pdf, "pdf_encrypted", "Kennwort"),
    "encrypted pdf": (_owner_only_pdf, "pdf_encrypted", "verschlüsselt"),
    "pdf without pages": (_no_pages_pdf, "pdf_no_pages", "keine Seiten"),
    "decompression bomb": (lambda _: _png_bomb(40_000, 40_000), "image_too_large", "zu groß"),
    "500 pages over a 400-page limit": (_long_batch, "too_many_pages", "500 Seiten"),
    "over the size limit": (
        lambda _: b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024),
        "upload_too_large",
        "zu groß",
    ),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_gets_a_clear_4xx_and_nothing_is_stored(tmp_path: Path, case: str) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data", max_upload_mb=2, max_batch_pages=400))
    load_people(runtime)
    make, code, message = BAD_UPLOADS[case]
    client = client_for(runtime, "post.1")
    response = client.post(
        "/api/documents", files={"file": ("scan.pdf", make(tmp_path), "application/pdf")}
    )
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert error["code"] == code
    assert message in error["message"]
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(ScanBatch)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert not list((runtime.settings.blob_dir).rglob("originals/*/*"))
    assert client.get("/health").json()["status"] == "ok"
    good = {"file": ("ok.pdf", sample("docs/0002.pdf").read_bytes(), "application/pdf")}
    assert client.post("/api/documents", files=good).status_code == 201


def test_upload_returns_the_document_and_its_queued_job(api_runtime: Runtime) -> None:
    client = client_for(api_runtime, "post.1")
    content = sample("docs/0001.pdf").read_bytes()
    response = client.post(
        "/api/documents",
        files={"file": ("C:\\Scans\\Scan Oktober.pdf", content, "application/pdf")},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "received" and body["job"]["state"] == "queued"
    assert body["source_name"] == "Scan Oktober.pdf"
    assert (body["pages_total"], body["pages_done"], body["documents"]) == (1, 0, [])
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert client.get(f"/api/batches/{body['id']}").json() == body
    assert ("post.1", "batch.upload", "ok") in audit_actions(api_runtime)
    caseworker = client_for(api_runtime, "lsb.95401.1")
    assert caseworker.get(f"/api/batches/{body['id']}").status_code == 403


def test_images_are_accepted_as_scans(api_runtime: Runtime, tmp_path: Path) -> None:
    client = client_for(api_runtime, "post.1")
    page = Image.new("L", (1700, 2300), 255)
    for fmt, name in (("PNG", "a.png"), ("JPEG", "a.jpg")):
        out = io.BytesIO()
        page.save(out, fmt)
        response = client.post("/api/documents", files={"file": (name, out.getvalue())})
        assert response.status_code == 201, response.text
    tiff = io.BytesIO()
    page.save(tiff, "TIFF", save_all=True, append_images=[page, page])
    response = client.post("/api/documents", files={"file": ("stack.tif", tiff.getvalue())})
    assert response.status_code == 201 and response.json()["pages_total"] == 3


def test_health_names_every_backend(api_runtime: Runtime) -> None:
    add_admin(api_runtime)
    body = client_for(api_runtime, "admin").get("/health").json()
    assert body["status"] == "ok"
    assert set(body["backends"]) == {"database", "blob_store", "search_index"}
    assert body["jobs"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}
