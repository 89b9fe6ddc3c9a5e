"""HTML mail bodies as text (inscriptis): what the text must keep, and what it must never hold."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

from ingest.email_pdf.html_text import MAX_ELEMENTS, html_to_text
from ingest.email_pdf.limits import Deadline
from ingest.email_pdf.plan import plan_email


def column(lines: list[str], word: str) -> int:
    (line,) = [line for line in lines if word in line]
    return line.index(word)


def test_table_rows_are_lines_with_their_cells_in_order() -> None:
    text = html_to_text(
        "<p>Aufstellung:</p><table><caption>Kosten 2026</caption>"
        "<tr><th>Monat</th><th>Betrag</th></tr>\n"
        "  <tr>\n    <td> Januar </td>\n    <td>500,00 €</td>\n  </tr>"
        "<tr><td>Februar 2026</td><td></td><td>1.234,56 €</td></tr></table><p>Danach</p>"
    )
    cells = [re.split(r" {4,}", line) for line in text.split("\n")]
    assert cells == [
        ["Aufstellung:"],
        [""],
        ["Kosten 2026"],
        ["Monat", "Betrag"],
        ["Januar", "500,00 €"],
        ["Februar 2026", "1.234,56 €"],
        [""],
        ["Danach"],
    ]


def test_no_markup_blows_the_text_up() -> None:
    """One long cell does not pad every row to its width, and no inline style indents a line
    by millions of spaces: the text stays about as long as the markup."""
    long_cell = "<table><tr><td>" + "x" * 10_000 + "</td><td>b</td></tr>"
    rows = long_cell + "<tr><td>a</td><td>b</td></tr>" * 1000 + "</table>"
    styled = '<div style="padding-left: 100000000em; margin-top: 99999em">x</div>' * 100
    for markup in (rows, styled):
        assert len(html_to_text(markup)) < len(markup)
    assert html_to_text(styled).split("\n") == ["x"] * 100


def test_lists_are_numbered_and_nested() -> None:
    text = html_to_text(
        "<p>Unterlagen:</p><ol><li>Kontoauszüge<ul><li>Girokonto</li><li>Sparbuch</li></ul>"
        "</li><li>Mietvertrag</li></ol><ul><li>Punkt</li></ul>"
    )
    lines = text.split("\n")
    assert "1. Kontoauszüge" in text and "2. Mietvertrag" in text
    assert column(lines, "Girokonto") > column(lines, "Kontoauszüge")
    assert column(lines, "Sparbuch") == column(lines, "Girokonto")
    (punkt,) = [line for line in lines if "Punkt" in line]
    assert punkt.strip() == "* Punkt"


def test_links_and_images_show_as_text_without_addresses() -> None:
    text = html_to_text(
        '<p>Den Bescheid finden Sie <a href="https://tracker.example/c?id=42">hier im '
        'Portal</a>.</p><img src="https://tracker.example/pixel.gif" alt="Logo Jobcenter">'
        '<img src="cid:x@y" alt="">'
    )
    assert "Den Bescheid finden Sie hier im Portal." in text
    assert "[Bild: Logo Jobcenter]" in text
    assert "tracker.example" not in text and "cid:" not in text and "[Bild: ]" not in text


def test_entities_are_characters() -> None:
    text = html_to_text(
        "<p>Gr&uuml;&szlig;e &amp; Dank: 5&nbsp;&euro; &ndash; &#8222;Zitat&#8220; "
        "&#x41;&lt;B&gt; &copy;</p>"
    )
    assert text == "Grüße & Dank: 5 € – „Zitat“ A<B> ©"


def test_no_script_style_or_hidden_markup_in_the_text() -> None:
    text = html_to_text(
        "<html><head><title>TITEL</title><style>.a{color:red} STYLE1</style>"
        "<script>var SCRIPT1 = 1;</script></head><body>"
        "<p>Sichtbar eins</p><style>p{} STYLE2</style><script type='module'>SCRIPT2()</script>"
        "<table><tr><td>Zelle<script>SCRIPT3</script></td></tr></table>"
        "<template><p>TEMPLATE</p></template><svg><text>SVGTEXT</text></svg>"
        "<iframe srcdoc='<p>IFRAME</p>'>IFRAME2</iframe><object>OBJECT</object>"
        "<!-- KOMMENTAR --><p onclick='ONCLICK()'>Sichtbar zwei</p>"
        "<script>unclosed SCRIPT4"
    )
    assert "Sichtbar eins" in text and "Sichtbar zwei" in text and "Zelle" in text
    for hidden in ("TITEL", "STYLE", "SCRIPT", "TEMPLATE", "SVGTEXT", "IFRAME", "OBJECT"):
        assert hidden not in text
    assert "KOMMENTAR" not in text and "ONCLICK" not in text and "color" not in text


def test_nothing_is_loaded_from_outside() -> None:
    text = html_to_text(
        '<?xml version="1.0"?><!DOCTYPE html [<!ENTITY datei SYSTEM "file:///etc/passwd">]>'
        '<html><head><link rel="stylesheet" href="file:///etc/passwd"></head>'
        "<body><p>Vorher &datei; nachher</p></body></html>"
    )
    assert "root:" not in text
    assert "Vorher" in text and "nachher" in text


def test_hostile_nesting_and_size_keep_the_text() -> None:
    deep = "<div>" * 5000 + "ganz tief<script>SCRIPT()</script>" + "</div>" * 5000
    text = html_to_text(deep + "<p>danach &amp; mehr</p>")
    assert "ganz tief" in text and "danach & mehr" in text and "SCRIPT" not in text

    tables = "<table><tr><td>" * 1200 + "in der Tabelle" + "</td></tr></table>" * 1200
    assert "in der Tabelle" in html_to_text(tables)

    many = "<p>Absatz</p>" * (MAX_ELEMENTS + 10) + "<style>STYLE</style><p>Ende</p>"
    text = html_to_text(many)
    assert text.count("Absatz") == MAX_ELEMENTS + 10 and text.endswith("Ende")
    assert "STYLE" not in text

    assert html_to_text("") == html_to_text("<!-- nur -->") == ""
    assert html_to_text("a\x00b") == "ab"


def test_html_mail_shows_its_table_on_the_page() -> None:
    raw = (
        "From: Vermieter <v@example.de>\r\nTo: post@jobcenter.example\r\n"
        "Subject: Nebenkosten\r\nDate: Mon, 09 Nov 2026 10:15:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "<p>Die Abrechnung:</p><table><tr><td>Heizung</td><td>310,00 €</td></tr>"
        "<tr><td>Wasser und Abwasser</td><td>95,50 €</td></tr></table>"
        "<ol><li>Zahlung bis 30.11.</li></ol><script>alert(1)</script>\r\n"
    )
    parsed = BytesParser(policy=policy.default).parsebytes(raw.encode())
    document = plan_email(parsed, 500, Deadline(60), 100_000_000)
    (page,) = document.chunks[0].pages
    drawn = [(x, text) for _, line in page for x, text, _ in line.segments]
    rows = [text.split() for _, text in drawn]
    assert ["Heizung", "310,00", "€"] in rows and [
        "Wasser",
        "und",
        "Abwasser",
        "95,50",
        "€",
    ] in rows
    assert ["1.", "Zahlung", "bis", "30.11."] in rows
    assert not any("alert" in text for _, text in drawn)
