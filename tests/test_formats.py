"""CSV, HTML, XLSX, PPTX and EPUB to text, and each through the real pipeline to search."""

from __future__ import annotations

import pytest

from socrate.errors import ProcessingError
from socrate.processing import formats
from tests import docgen
from tests.conftest import upload, wait_done

PAGE = b"""<!doctype html><html><head><title>Harbour  notes</title><style>p {color: red}</style></head>
<body><header>Site name</header><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<main><h1>The lighthouse</h1><p>The keeper&#39;s parrot is called <b>Admiral Biscuit</b> &amp; it sings.</p>
<script>track()</script><ul><li>Open on Sundays</li><li>Closed in winter</li></ul></main>
<aside>Related posts</aside><footer>Copyright</footer></body></html>"""


def test_html_keeps_the_title_and_main_text_without_scripts_or_navigation() -> None:
    text = formats.html_text(PAGE.decode())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines == [
        "Harbour notes",
        "The lighthouse",
        "The keeper's parrot is called Admiral Biscuit & it sings.",
        "Open on Sundays",
        "Closed in winter",
    ]


def test_html_without_main_takes_the_body() -> None:
    text = formats.html_text("<body><nav>Menu</nav><p>First.</p><div>Second</div></body>")
    assert [line for line in text.splitlines() if line] == ["First.", "Second"]


def test_csv_rows_keep_their_headers() -> None:
    text = formats.csv_text("name;city;notes\nAlice;Bologna;\nBob;Torino;likes trains\n")
    assert text.splitlines() == ["name: Alice; city: Bologna", "name: Bob; city: Torino; notes: likes trains"]


def test_csv_without_a_header_keeps_the_values() -> None:
    assert formats.csv_text("1,2,3\n4,5,6\n").splitlines() == ["1; 2; 3", "4; 5; 6"]


def test_a_csv_field_over_the_limit_is_a_readable_failure() -> None:
    with pytest.raises(ProcessingError, match="The CSV file could not be read"):
        formats.csv_text("a,b\n1," + "x" * (formats.CSV_MAX_FIELD_CHARS + 1) + "\n")


def test_csv_and_html_are_searchable_after_the_pipeline(client, worker, tenant) -> None:
    table = b"ship,captain,port\nAurora,Giulia Neri,Trieste\nBoreas,Marco Riva,Genova\n"
    ids = [
        upload(client, tenant, table, "fleet.csv").get_json()["document_id"],
        upload(client, tenant, PAGE, "harbour.html").get_json()["document_id"],
    ]
    for doc_id in ids:
        assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    found = client.get(
        "/api/search", query_string={"q": "Who is the captain of Boreas?"}, headers=tenant.headers
    )
    top = found.get_json()["results"][0]
    assert top["document_id"] == ids[0] and "captain: Marco Riva" in top["text"]
    found = client.get("/api/search", query_string={"q": "parrot name lighthouse"}, headers=tenant.headers)
    top = found.get_json()["results"][0]
    assert top["document_id"] == ids[1] and "Admiral Biscuit" in top["text"] and "track()" not in top["text"]


FLEET: list[list[object]] = [
    ["ship", "captain", "port"],
    ["Aurora", "Giulia Neri", "Trieste"],
    ["Boreas", "Marco Riva", "Genova"],
]
DECK = [
    ("Quarterly plan", "Open two new harbours", "Mention the budget"),
    ("Lighthouse", "The keeper's parrot is Admiral Biscuit", "Ask about the parrot's diet"),
]


def test_xlsx_sheets_read_like_csv_rows(tmp_path) -> None:
    from socrate.processing import office

    path = tmp_path / "fleet.xlsx"
    path.write_bytes(docgen.xlsx([*FLEET, [None, None, None], ["Cirrus", 42, 3.5]]))
    assert office.xlsx_text(path, 10_000).splitlines() == [
        "Sheet: Fleet",
        "ship: Aurora; captain: Giulia Neri; port: Trieste",
        "ship: Boreas; captain: Marco Riva; port: Genova",
        "ship: Cirrus; captain: 42; port: 3.5",
    ]


def test_pptx_gives_one_page_per_slide_with_its_notes(tmp_path) -> None:
    from socrate.processing import office

    path = tmp_path / "deck.pptx"
    path.write_bytes(docgen.pptx(DECK))
    assert office.pptx_pages(path) == [
        "Quarterly plan\nOpen two new harbours\nMention the budget",
        "Lighthouse\nThe keeper's parrot is Admiral Biscuit\nAsk about the parrot's diet",
    ]


def test_xlsx_and_pptx_are_searchable_and_slides_are_pages(client, worker, tenant) -> None:
    ids = [
        upload(client, tenant, docgen.xlsx(FLEET), "fleet.xlsx").get_json()["document_id"],
        upload(client, tenant, docgen.pptx(DECK), "deck.pptx").get_json()["document_id"],
    ]
    for doc_id in ids:
        assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    question = {"q": "Which port is Aurora in?"}
    top = client.get("/api/search", query_string=question, headers=tenant.headers).get_json()["results"][0]
    assert top["document_id"] == ids[0] and "port: Trieste" in top["text"]
    details = client.get(f"/api/documents/{ids[1]}", headers=tenant.headers).get_json()
    assert details["metadata"]["pages"] == 2
    question = {"q": "What is the keeper's parrot called?", "document_id": ids[1]}
    top = client.get("/api/search", query_string=question, headers=tenant.headers).get_json()["results"][0]
    assert "Admiral Biscuit" in top["text"] and top["page_start"] == 1 and top["page_end"] == 2


BOOK = [
    ("The crossing", "The ferry leaves Trieste at dawn and the cook bakes bread for the sailors."),
    ("The island", "On the island the lighthouse keeper Ottavio keeps a parrot called Admiral Biscuit."),
]


def test_epub_gives_its_title_then_the_chapters_in_reading_order(tmp_path) -> None:
    from socrate.processing import ebooks

    path = tmp_path / "book.epub"
    path.write_bytes(docgen.epub("Harbour Tales", BOOK))
    lines = [line.strip() for line in ebooks.epub_text(path).splitlines() if line.strip()]
    assert lines == ["Harbour Tales", "The crossing", BOOK[0][1], "The island", BOOK[1][1]]


def test_epub_is_searchable_after_the_pipeline(client, worker, tenant) -> None:
    book = docgen.epub("Harbour Tales", BOOK)
    doc_id = upload(client, tenant, book, "tales.epub").get_json()["document_id"]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    question = {"q": "What is the name of Ottavio's parrot?", "document_id": doc_id}
    top = client.get("/api/search", query_string=question, headers=tenant.headers).get_json()["results"][0]
    assert "Admiral Biscuit" in top["text"]
