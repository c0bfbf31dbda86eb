"""Full-text search: the query language, five-language folding, and the index as a cache."""

from __future__ import annotations

import datetime as dt
import json
import mmap
import os
import random
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh import query as whoosh_query
from whoosh.codec import whoosh3
from whoosh.codec.base import FieldWriter
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.fields import ID, STORED, Schema
from whoosh.filedb.structfile import BufferFile
from whoosh.writing import SegmentWriter

from deskterm.index import SearchIndex, impacts, ranking, speedups
from deskterm.index.engine import META_ID, SCHEMA_VERSION, make_schema
from deskterm.index.phrase import AdjacentWords
from deskterm.index.query import And, DateRange, Not, Or, QueryError, Term, parse_query
from deskterm.index.snippets import BETWEEN, MAX_CHARS, snippet
from deskterm.index.speedups import whole_lengths
from deskterm.index.analysis import terms
from deskterm.store import Store

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
SELLER = "support@alpinekitchen.example"

MESSAGES = [  # (sender, subject, body, days ago, attachment)
    ("anna@example.it", "Ordine 302-1111111-2222222", "Il prodotto è arrivato danneggiato, voglio un rimborso.", 1, None),
    ("lukas@example.de", "Größe falsch", "Die Größe stimmt nicht, der Artikel ist beschädigt.", 3, "foto.jpg"),
    ("marie@example.fr", "Colis", "Le colis est arrivé endommagé. Où est ma commande ?", 10, None),
    ("pablo@example.es", "Pedido", "El producto llegó dañado, quiero un reembolso.", 20, None),
    ("joe@example.com", "Where is my order", "My order never arrived. Tracking says delivered but nothing.", 40, None),
    ("joe@example.com", "Thanks", "Thank you, the replacement arrived and works great.", 2, None),
    ("kim@example.com", "Question about AK-PAN-28", "Is the pan B0ABCDEFGH induction ready? consegna", 5, None),
]


def build_workspace(home: Path) -> Path:
    mail = home.parent / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    for number, (sender, subject, body, days, attachment) in enumerate(MESSAGES):
        message = EmailMessage()
        message["From"] = sender
        message["To"] = SELLER
        message["Subject"] = subject
        message["Message-ID"] = f"<m{number}@example>"
        message["Date"] = format_datetime(NOW - dt.timedelta(days=days))
        message.set_content(body)
        if attachment:
            message.add_attachment(b"\xff\xd8jpeg", maintype="image", subtype="jpeg", filename=attachment)
        (mail / f"{number}.eml").write_bytes(bytes(message))
    run(home, "import", str(mail))
    return mail


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW.isoformat(), *args],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("search") / "ws"
    build_workspace(home)
    return home


def search(home: Path, text: str, *extra: str) -> list[dict]:
    return json.loads(run(home, "search", text, "--json", *extra).stdout)


def senders(home: Path, text: str) -> set[str]:
    return {hit["sender"] for hit in search(home, text)}


@pytest.mark.parametrize(("text", "expected"), [
    ("refund broken", And((Term(None, "refund"), Term(None, "broken")))),
    ('"arrived broken" OR from:jane', Or((Term(None, "arrived broken", phrase=True), Term("from", "jane")))),
    ("a AND NOT b", And((Term(None, "a"), Not(Term(None, "b"))))),
    ("(a OR b) -c", And((Or((Term(None, "a"), Term(None, "b"))), Not(Term(None, "c"))))),
    ('subject:"where is"', Term("subject", "where is", phrase=True)),
    ("date:2026-03-01..2026-03-31", DateRange(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                                              dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc))),
    ("date:2w..", DateRange(dt.datetime(2026, 11, 6, tzinfo=dt.timezone.utc), None)),
    ("date:3h..", DateRange(NOW - dt.timedelta(hours=3), None)),
    ("date:yesterday..", DateRange(dt.datetime(2026, 11, 19, tzinfo=dt.timezone.utc), None)),
    ("date:..2026-03", DateRange(None, dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc))),
])
def test_query_language(text: str, expected: object) -> None:
    assert parse_query(text, NOW) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("(a OR b", "the '(' at column 1 is never closed"),
    ("a ) b", "')' at column 3 closes nothing"),
    ("form:jane", "unknown field 'form:' at column 1"),
    ("a OR", "the query ends where a word was expected"),
    ('"arrived broken', "unclosed quote at column 1"),
    ("is:maybe", "is:maybe at column 1: expected one of"),
    ("date:lastweek", "date:lastweek at column 1: expected YYYY-MM-DD"),
    ("date:2026-03-31..2026-03-01", "ends before it starts"),
    ("   ", "empty query"),
])
def test_malformed_queries_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(text, NOW)


def test_malformed_query_on_the_cli_exits_2(workspace: Path) -> None:
    done = run(workspace, "search", "from:(", check=False)
    assert done.returncode == 2 and "search:" in done.stderr


@pytest.mark.parametrize(("query", "sender"), [
    ("danneggiato", "anna@example.it"), ("rimborso", "anna@example.it"),          # Italian
    ("grosse", "lukas@example.de"), ("Größe", "lukas@example.de"), ("beschadigt", "lukas@example.de"),  # German
    ("endommage", "marie@example.fr"), ("où", "marie@example.fr"), ("ou", "marie@example.fr"),  # French
    ("danado", "pablo@example.es"), ("dañado", "pablo@example.es"),                 # Spanish
    ("delivered", "joe@example.com"),                                              # English
])
def test_accent_folding_in_five_languages(workspace: Path, query: str, sender: str) -> None:
    assert senders(workspace, query) == {sender}


@pytest.mark.parametrize("query", ["danneggiat", "rimbors", "consegn", "arriv", "deliver"])
def test_no_stemming_mangles_words(workspace: Path, query: str) -> None:
    assert search(workspace, query) == []


def test_fields_filters_and_operators(workspace: Path) -> None:
    assert senders(workspace, "302-1111111-2222222") == {"anna@example.it"}
    assert senders(workspace, "order:302-1111111-2222222") == {"anna@example.it"}
    assert senders(workspace, "sku:AK-PAN-28") == set()  # not a known SKU in this store
    assert senders(workspace, "asin:B0ABCDEFGH") == {"kim@example.com"}
    assert senders(workspace, "has:attachment") == {"lukas@example.de"}
    assert senders(workspace, "foto") == {"lukas@example.de"}  # attachment names are searched
    assert senders(workspace, "from:joe arrived") == {"joe@example.com"}
    assert senders(workspace, "from:joe@example.com") == {"joe@example.com"}
    assert senders(workspace, 'from:"example.de"') == {"lukas@example.de"}
    assert senders(workspace, '"never arrived"') == {"joe@example.com"}
    assert senders(workspace, '"arrived never"') == set()  # both words, but not as that phrase
    assert senders(workspace, '"order never arrived"') == {"joe@example.com"}
    assert senders(workspace, '"my never arrived"') == set()
    assert senders(workspace, '"arrive endommage"') == {"marie@example.fr"}
    assert senders(workspace, '"never arrived" from:joe') == {"joe@example.com"}
    assert senders(workspace, '"never arrived" OR "arrivato danneggiato"') == {"joe@example.com", "anna@example.it"}
    assert senders(workspace, "arrived -thank") == {"joe@example.com"}
    assert senders(workspace, "arrived NOT from:joe") == set()
    assert senders(workspace, "(rimborso OR reembolso) channel:email") == {"anna@example.it", "pablo@example.es"}
    assert senders(workspace, "date:1w..") == {"anna@example.it", "lukas@example.de", "joe@example.com",
                                               "kim@example.com"}
    assert senders(workspace, "date:2026-10-01..2026-10-31") == {"joe@example.com", "pablo@example.es"}
    assert senders(workspace, "date:2026-10-01..2026-10-30") == {"joe@example.com"}
    assert senders(workspace, "is:unanswered from:marie") == {"marie@example.fr"}
    assert len(search(workspace, "-zzzz", "--limit", "100")) == len(MESSAGES)  # never the index's own meta doc


def test_result_shape_sorting_and_snippets(workspace: Path) -> None:
    hits = search(workspace, "arrived", "--sort", "newest")
    assert [h["subject"] for h in hits] == ["Thanks", "Where is my order"]
    assert [h["sent_at"] for h in hits] == sorted((h["sent_at"] for h in hits), reverse=True)
    assert set(hits[0]) == {"message_id", "ticket_id", "channel", "sender", "subject", "sent_at", "order_id",
                            "snippet", "score"}
    assert "**arrived**" in hits[0]["snippet"]
    assert len(search(workspace, "arrived", "--limit", "1")) == 1


def test_ticket_changes_reach_the_index(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    build_workspace(home)
    assert senders(home, "is:closed") == set()
    with Store(home / "deskterm.db") as store, store.write() as conn:
        conn.execute("UPDATE tickets SET status = 'closed', tags = '[\"vip\"]' WHERE id = "
                     "(SELECT ticket_id FROM messages WHERE message_id = '<m2@example>')")
    assert senders(home, "is:closed") == {"marie@example.fr"}
    assert senders(home, "tag:vip") == {"marie@example.fr"}
    assert json.loads(run(home, "index", "check", "--json").stdout)["ok"] is True


def test_rebuild_is_idempotent_and_check_finds_drift(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    build_workspace(home)
    search(home, "x")  # builds the index
    first = json.loads(run(home, "index", "rebuild", "--json").stdout)
    second = json.loads(run(home, "index", "rebuild", "--json").stdout)
    assert first == second == {"indexed": len(MESSAGES)}
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        assert index.sync() == 0 and index.count() == len(MESSAGES)
        # Drift behind the outbox's back: a message edited and one deleted without an outbox row.
        with store.write() as conn:
            conn.execute("UPDATE messages SET body = 'changed', content_hash = x'00' WHERE message_id = '<m0@example>'")
            conn.execute("DELETE FROM message_attachments")
            conn.execute("DELETE FROM message_sources")
            conn.execute("DELETE FROM messages WHERE message_id = '<m1@example>'")
        report = index.check()
        assert not report.ok and len(report.stale) == 1 and len(report.extra) == 1
    done = run(home, "index", "check", check=False)
    assert done.returncode == 1 and "deskterm index rebuild" in done.stdout
    run(home, "index", "rebuild")
    assert run(home, "index", "check").returncode == 0


def test_damaged_index_is_rebuilt_on_open(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    build_workspace(home)
    search(home, "x")
    for path in (home / "index").iterdir():
        if path.suffix in (".seg", ".toc"):
            path.write_bytes(b"\x00garbage")
    done = run(home, "index", "check", check=False)
    assert done.returncode == 1 and "cannot be read" in done.stdout
    assert senders(home, "danneggiato") == {"anna@example.it"}
    assert run(home, "index", "check").returncode == 0
    import shutil
    shutil.rmtree(home / "index")
    assert senders(home, "dañado") == {"pablo@example.es"}


_APPLY = """
import sys
from pathlib import Path
from whoosh import index as whoosh_index

from deskterm.index import SearchIndex
from deskterm.index.engine import META_ID, SCHEMA_VERSION, make_schema
from deskterm.store import Store
store = Store(Path(sys.argv[1]) / "deskterm.db")
index = SearchIndex(Path(sys.argv[1]) / "index", store)
index.engine.apply(store, lock_timeout=60, batch=int(sys.argv[2]), parallel_from=int(sys.argv[3]))
"""


def _demo_without_index(home: Path) -> int:
    run(home, "demo", "--no-tui", "--seed", "5")
    import shutil
    shutil.rmtree(home / "index")
    (home / "index").mkdir()
    empty = whoosh_index.create_in(str(home / "index"), make_schema())  # every outbox row is pending
    writer = empty.writer()
    writer.add_document(id=META_ID, kind="meta", applied=0, top=0, version=SCHEMA_VERSION)
    writer.commit()
    with Store(home / "deskterm.db") as store:
        return store.scalar("SELECT count(*) FROM messages")


def _index_equals_store(home: Path, messages: int) -> None:
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        report = index.check()
        assert report.ok and report.pending == 0, report.as_json()
        assert index.count() == messages
        assert set(index.engine.stamps()) == {row[0] for row in store.rows("SELECT id FROM messages")}


def test_index_equals_store_after_kill_9_of_the_indexer(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    messages = _demo_without_index(home)
    rng = random.Random(11)
    kills = 0
    while kills < 20:
        # Batches of 60 whose new messages, from 20, are written by worker processes.
        worker = subprocess.Popen([sys.executable, "-c", _APPLY, str(home), "60", "20"])
        time.sleep(rng.uniform(0.3, 1.2))
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            kills += 1
        worker.wait()
        if worker.returncode == 0:
            break
        assert worker.returncode == -signal.SIGKILL, f"the indexer failed by itself ({worker.returncode})"
    assert kills >= 20, "the indexer finished before 20 kills; give it more work"
    subprocess.run([sys.executable, "-c", _APPLY, str(home), "500", "4000"], check=True, timeout=300)
    _index_equals_store(home, messages)


def test_two_processes_indexing_at_once(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    messages = _demo_without_index(home)
    workers = [subprocess.Popen([sys.executable, "-c", _APPLY, str(home), "200", str(parallel_from)],
                                stderr=subprocess.PIPE, text=True) for parallel_from in (50, 4000)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    _index_equals_store(home, messages)


def _epoch(iso_text: str) -> int:
    return int(dt.datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp())


def test_newest_first_over_time_slices_equals_sorting_every_match(tmp_path: Path) -> None:
    """Newest-first search stops after the newest slices; it must still return exactly what
    sorting every match by date would, also once syncs have added segments of mixed dates."""
    home = tmp_path / "ws"
    run(home, "demo", "--no-tui", "--seed", "5")
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        seen: list[tuple[int, int]] = []
        total = index.engine.rebuild(store, lambda done, of: seen.append((done, of)), segment_docs=25)
        assert total == store.scalar("SELECT count(*) FROM messages") > 100
        assert seen[-1] == (total, total)
        assert len(index.engine.open()._segments()) > 4  # written by two worker processes
        assert _impacts_files(home) == {segment.segment_id() for segment in index.engine.open()._segments()
                                        if segment.doc_count_all() > 1}  # each slice's, not the meta segment's
        with store.write() as conn:  # tickets of every age change: a new small segment spans all dates
            conn.execute("UPDATE tickets SET status = 'closed' WHERE id % 4 = 0")
        assert index.sync() > 0
        assert _impacts_files(home) <= {segment.segment_id() for segment in index.engine.open()._segments()}
        key = {row[0]: (_epoch(row[1]), row[2]) for row in store.rows("SELECT message_id, sent_at, id FROM messages")}
        for text in ("order", "refund OR rimborso", "-zzzz", "is:closed", "channel:amazon", "damaged", "date:30d.."):
            every = [hit["message_id"] for hit in index.search(text, NOW, limit=10_000)]
            expected = sorted(every, key=key.__getitem__, reverse=True)
            for limit in range(1, 41):
                found = [hit["message_id"] for hit in index.search(text, NOW, limit=limit, newest_first=True)]
                assert found == expected[:limit], (text, limit)
        assert index.check().ok



def _impacts_files(home: Path) -> set[str]:
    """The segments of the workspace's index that have an impacts file."""
    return {path.name.removesuffix(impacts.SUFFIX) for path in (home / "index").glob("*" + impacts.SUFFIX)}


def _demo_in_small_segments(home: Path, seed: str) -> Path:
    """A demo workspace whose index is rebuilt in segments of 25 messages: many segments, as a
    sync into a large archive meets them."""
    run(home, "demo", "--no-tui", "--seed", seed)
    with Store(home / "deskterm.db") as store:
        SearchIndex(home / "index", store).engine.rebuild(store, segment_docs=25)
    return home


def _new_mail(folder: Path, word: str, count: int, sender: str | None = None) -> Path:
    """`count` messages of today about a cracked `word` lid, as .eml files in `folder`; each from
    late{number}@example.com unless `sender` is given."""
    folder.mkdir()
    for number in range(count):
        message = EmailMessage()
        message["From"], message["To"] = sender or f"late{number}@example.com", SELLER
        message["Subject"], message["Message-ID"] = f"{word.title()} lid", f"<{word}{number}@example>"
        message["Date"] = format_datetime(NOW)
        message.set_content(f"the {word} lid number {number} is cracked")
        (folder / f"{number}.eml").write_bytes(bytes(message))
    return folder


def test_mail_after_a_rebuild_is_added_once_beside_updates_of_older_messages(tmp_path: Path) -> None:
    """A sync adds messages newer than anything the index held without looking for an older copy
    (the lookup visits every segment); an older message changed in the same batch is replaced."""
    home = _demo_in_small_segments(tmp_path / "ws", "5")
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        before = index.count()
        mail = _new_mail(tmp_path / "new", "quokka", 3)
        run(home, "import", str(mail))
        with store.write() as conn:  # and an old message's ticket changes in the same outbox batch
            conn.execute("UPDATE tickets SET status = 'closed' WHERE id = (SELECT min(ticket_id) FROM messages)")
            # and an old message moves to a day outside its segment's span: its copy is still found
            moved = conn.execute("SELECT max(id) FROM messages WHERE sender NOT LIKE 'late%'").fetchone()[0]
            conn.execute("UPDATE messages SET sent_at = '2019-01-01T00:00:00Z' WHERE id = ?", (moved,))
            conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (moved,))
        assert index.engine.apply(store, 60, parallel_from=2) > 0  # the new mail through worker processes
        assert index.count() == before + 3 == store.scalar("SELECT count(*) FROM messages")
        assert sorted(hit["sender"] for hit in index.search("quokka", NOW, limit=50)) == [
            "late0@example.com", "late1@example.com", "late2@example.com"]
        assert index.check().ok
        assert [hit["sent_at"] for hit in index.search("date:2019", NOW, limit=50)] == ["2019-01-01T00:00:00Z"]
        run(home, "import", str(mail))  # the same mail again changes nothing
        assert index.sync() == 0 and index.count() == before + 3
        with store.write() as conn:  # every message again, in one batch: each replaced, none twice
            conn.execute("INSERT INTO index_outbox (message_rowid) SELECT id FROM messages")
        assert index.engine.apply(store, 60) > 0
        assert index.count() == before + 3 and index.check().ok
        assert len(index.search("quokka", NOW, limit=50)) == 3


def test_new_mail_a_batch_leaves_to_a_later_one_is_indexed_once(tmp_path: Path) -> None:
    """A new message whose ticket changes later in the outbox is left to the batch of its last row;
    that batch finds it under the index's highest id and must add it, once, without a copy to
    delete (nor looking in every segment for one)."""
    home = _demo_in_small_segments(tmp_path / "ws", "6")
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        before = index.count()
        mail = _new_mail(tmp_path / "new", "wombat", 4, sender="late@example.com")
        with store.write() as conn:  # an old ticket changes twice: its messages' copies are replaced
            for status in ("closed", "open"):
                conn.execute("UPDATE tickets SET status = ? WHERE id = (SELECT min(ticket_id) FROM messages)",
                             (status,))
        run(home, "import", str(mail))
        rows = store.scalar("SELECT count(*) FROM index_outbox WHERE seq > ?", (index.engine.applied(),))
        assert rows > 8  # each message's insert, then its ticket's changes
        assert index.engine.apply(store, 60, batch=1) == rows
        assert index.count() == before + 4 == store.scalar("SELECT count(*) FROM messages")
        assert len(index.search("wombat", NOW, limit=50)) == 4
        assert index.check().ok


@pytest.fixture(scope="module")
def phrase_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, list[list[str]]]:
    """300 messages over a 6-word vocabulary, so that every phrase occurs somewhere and not everywhere."""
    folder = tmp_path_factory.mktemp("phrases")
    built = whoosh_index.create_in(str(folder), make_schema())
    rng = random.Random(4)
    texts = [[rng.choice("abba cab dab ebb fab gab".split()) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    writer = built.writer()
    for number, words in enumerate(texts):
        writer.add_document(id=str(number), kind="message", text=" ".join(words))
    writer.commit()
    return built, texts


@settings(max_examples=150, deadline=None)
@given(phrase=st.lists(st.sampled_from("abba cab dab ebb fab gab".split()), min_size=2, max_size=4))
def test_phrase_matcher_agrees_with_reading_every_message(phrase_index, phrase: list[str]) -> None:
    built, texts = phrase_index
    expected = {str(number) for number, words in enumerate(texts)
                if any(words[at:at + len(phrase)] == phrase for at in range(len(words)))}
    with built.searcher() as searcher:
        found = {hit["id"] for hit in searcher.search(AdjacentWords("text", phrase), limit=None)}
        newest = {searcher.stored_fields(docnum)["id"] for docnum in
                  AdjacentWords("text", phrase).matcher(searcher).all_ids()}
    assert found == newest == expected


_COMMON = "abba cab dab ebb fab".split()
_RARE = "zed yew".split()
_RAREST = "qix"  # in a few messages a segment: an AND with it looks the common word up by group


_IMPACTS_FROM = 20  # documents: the common words of the ranked index are in its impacts files


@pytest.fixture(scope="module")
def ranked_index(tmp_path_factory: pytest.TempPathFactory) -> object:
    """600 messages in three segments, some deleted: five common words and two rare ones in the
    body and subject, a day each, and some with no body (a segment's length column then ends
    before its last document). The first and last segments have impacts files, as a rebuild's
    time slices do; the middle one has none, as a sync's small segment."""
    folder = tmp_path_factory.mktemp("ranked")
    built = whoosh_index.create_in(str(folder), make_schema())
    rng = random.Random(12)

    def words(most: int) -> str:
        return " ".join(_RAREST if rng.random() < 0.0015 else rng.choice(_RARE) if rng.random() < 0.02
                        else rng.choice(_COMMON) for _ in range(rng.randint(0, most)))

    for first in (0, 200, 400):
        writer = built.writer()
        kept = writer.fieldwriter.impact_words = impacts.Words(_IMPACTS_FROM) if first != 200 else None
        for number in range(first, first + 200):
            body = words(30) if number % 200 < 198 else ""
            writer.add_document(id=str(number), kind="message", text=body, subject=words(4), day=rng.randint(0, 30))
        writer.commit(merge=False)
        if kept is not None:
            impacts.write(str(folder), writer.get_segment().segment_id(), kept, writer.get_segment().doc_count_all())
    writer = built.writer()
    for number in range(0, 600, 7):
        writer.delete_by_term("id", str(number))
    writer.commit(merge=False)
    return built


def _queries() -> st.SearchStrategy:
    word = st.sampled_from(_COMMON + _RARE + [_RAREST, "absent"])
    leaf = st.one_of(
        word.map(lambda text: whoosh_query.Term("text", text)),
        word.map(lambda text: whoosh_query.Term("subject", text)),
        st.lists(word, min_size=2, max_size=3).map(lambda texts: AdjacentWords("text", texts)),
        st.tuples(st.integers(0, 30), st.integers(0, 30)).map(
            lambda days: whoosh_query.NumericRange("day", min(days), max(days))))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(whoosh_query.And),
        st.lists(inner, min_size=2, max_size=3).map(whoosh_query.Or)), max_leaves=5)


@settings(max_examples=300, deadline=None)
@given(_queries(), st.integers(1, 30))
def test_relevance_ranking_equals_scoring_every_match_with_whoosh(ranked_index, tree, limit: int) -> None:
    """`ranking.best` scores postings a block at a time and checks phrase positions only for the
    best candidates; its page must be Whoosh's: the same scores, best first, ties by document."""
    with ranked_index.searcher() as searcher:
        every = [(hit.docnum, hit.score) for hit in searcher.search(tree, limit=None)]
        found = ranking.best(searcher, tree, limit)
    assert found is not None
    assert len(found) == min(limit, len(every))
    score_of = dict(every)
    for (docnum, score), (_expected_docnum, expected) in zip(found, every):
        assert score == pytest.approx(expected, rel=1e-12)
        assert score_of[docnum] == pytest.approx(score, rel=1e-12)
    # Ties go to the earlier document; a sum in another order may differ in its last bit, which
    # can turn a tie either way, and no further.
    for (docnum, score), (next_docnum, next_score) in zip(found, found[1:]):
        assert score > next_score or (score == pytest.approx(next_score, rel=1e-12) and
                                      (docnum < next_docnum or score_of[docnum] != score_of[next_docnum]))


def test_impacts_files_group_every_posting_of_the_common_words(ranked_index) -> None:
    """A segment's impacts file holds each word in `_IMPACTS_FROM` documents or more (and no
    other), and every one of its postings, in the group of its weight and length byte, both as
    the groups' documents and as each document's group."""
    with ranked_index.searcher() as searcher:
        readers = [leaf.reader() for leaf, _offset in searcher.leaf_searchers()]
        assert [impacts.of(reader) is not None for reader in readers] == [True, False, True]
        for reader in readers[::2]:
            kept = impacts.of(reader)
            for fieldname in ("text", "subject"):
                lengths = whole_lengths(reader, fieldname)
                for btext, info in reader.iter_field(fieldname):
                    groups = kept.groups(fieldname, btext)
                    if info.doc_frequency() < _IMPACTS_FROM:
                        assert groups is None
                        continue
                    matcher = reader.postings(fieldname, btext)  # the live documents'
                    postings = set()
                    while matcher.is_active():
                        postings.add((matcher.weight(), lengths[matcher.id()], matcher.id()))
                        matcher.next()
                    docnums = iter(kept.docnums(fieldname, btext))
                    grouped = [(weight, lbyte, next(docnums)) for weight, lbyte, count in zip(*groups)
                               for _ in range(count)]
                    assert next(docnums, None) is None
                    assert len(set(grouped)) == len(grouped) == info.doc_frequency()
                    group_of = kept.group_of(fieldname, btext)
                    weights, lbytes, _counts = groups
                    assert len(group_of) == reader.doc_count_all()
                    assert {(weights[number - 1], lbytes[number - 1], docnum)
                            for docnum, number in enumerate(group_of) if number} == set(grouped)
                    assert {posting for posting in grouped if not reader.is_deleted(posting[2])} == postings


def test_a_word_with_more_groups_than_two_bytes_number_is_left_to_its_postings(tmp_path: Path) -> None:
    """Group numbers are two bytes: a word in more (weight, length) groups than that, which
    crafted mail could make, is left out of the impacts file (and read from its postings)
    instead of failing the segment's write."""
    words = impacts.Words(1)
    words["text", b"many"] = [(float(1 + number // 256), number % 256, [number])
                              for number in range(impacts.MAX_GROUPS + 1)]
    words["text", b"few"] = [(1.0, 20, [0, 2]), (2.0, 20, [1])]
    impacts.write(str(tmp_path), "seg", words, impacts.MAX_GROUPS + 1)
    with open(tmp_path / ("seg" + impacts.SUFFIX), "rb") as file:
        kept = impacts.Impacts(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    assert kept.groups("text", b"many") is None
    assert kept.groups("text", b"few") == ([1.0, 2.0], [20, 20], [2, 1])
    assert list(kept.group_of("text", b"few")[:4]) == [1, 2, 1, 0]


def test_relevance_leaves_negations_to_whoosh_and_reads_lengths_whole(ranked_index) -> None:
    with ranked_index.searcher() as searcher:
        assert ranking.best(searcher, whoosh_query.Not(whoosh_query.Term("text", "abba")), 5) is None
        for leaf, _offset in searcher.leaf_searchers():
            reader = leaf.reader()
            column = reader._perdoc._cached_reader("_text_len", LENGTHS_COLUMN)
            assert column._count < reader.doc_count_all()  # the last messages have no body
            assert whole_lengths(reader, "text") == bytes(column)  # Whoosh's own reading, one by one


def _blocks_of_every_term(folder: Path) -> dict[tuple[str, bytes], list[tuple[object, ...]]]:
    """Every term's blocks, as the reader sees them: the header's statistics and the postings."""
    blocks: dict[tuple[str, bytes], list[tuple[object, ...]]] = {}
    with whoosh_index.open_dir(str(folder)).searcher() as searcher:
        reader = next(leaf for leaf, _offset in searcher.leaf_searchers()).reader()
        for fieldname, btext in reader.all_terms():
            info = reader.term_info(fieldname, btext)
            found = blocks[fieldname, btext] = [(info.weight(), info.doc_frequency(), info.min_length(),
                                                 info.max_length(), info.max_weight(), info.min_id(), info.max_id())]
            matcher = reader.postings(fieldname, btext)
            while matcher.is_active():
                matcher._read_data()
                found.append((matcher._blocklength, matcher._maxweight, matcher._minlength, matcher._maxlength,
                              *matcher._data))
                matcher._next_block()
    return blocks


def _whole_segment(folder: Path) -> tuple[object, ...]:
    """A one-segment index as the reader sees it: every term's blocks, and per document its
    stored fields, field lengths and sort column."""
    with whoosh_index.open_dir(str(folder)).searcher() as searcher:
        reader = next(leaf for leaf, _offset in searcher.leaf_searchers()).reader()
        fields = sorted(name for name, field in reader.schema.items() if field.scorable)
        sorting = reader.column_reader("sent_at")
        per_doc = [(reader.stored_fields(docnum), [reader.doc_field_length(docnum, name) for name in fields],
                    sorting[docnum]) for docnum in range(reader.doc_count_all())]
        totals = [reader.field_length(name) for name in fields]
    return _blocks_of_every_term(folder), per_doc, totals


def test_segments_are_written_as_whoosh_writes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's document and posting loops are deskterm's own (`speedups._add_document`,
    `speedups._add_postings`): every term's blocks, statistics included, and every document's
    stored fields, lengths and sort value must be what Whoosh's own loops write."""
    rng = random.Random(7)
    words = [f"w{number}" for number in range(400)] + ["größe", "Größe", "endommagé"]
    documents = [dict(id=str(number), kind="message", day=number % 9, sent_at=1_700_000_000 + number * 997,
                      sender=f"Buyer {number % 13} <buyer{number % 13}@example.com>", stamp=f"s{number}",
                      subject=" ".join(rng.choices(words[:30], k=rng.randint(0, 6))), order=f"114-{number % 40}",
                      text=" ".join(rng.choice(words[:rng.choice((5, 403))]) for _ in range(rng.randint(0, 300))))
                 for number in range(700)]

    def write(folder: Path) -> None:
        folder.mkdir()
        built = whoosh_index.create_in(str(folder), make_schema())
        with built.writer() as writer:
            for document in documents:
                writer.add_document(**document)

    write(tmp_path / "ours")
    monkeypatch.setattr(whoosh3.W3FieldWriter, "add_postings", FieldWriter.add_postings)
    monkeypatch.setattr(SegmentWriter, "add_document", speedups._whoosh_add_document)
    write(tmp_path / "whoosh")
    ours, whoosh = _whole_segment(tmp_path / "ours"), _whole_segment(tmp_path / "whoosh")
    blocks = ours[0]
    assert len(blocks) > 400 and sum(len(found) for found in blocks.values()) > len(blocks) + 100  # many blocks
    assert ours == whoosh


_SNIPPET_WORDS = ["order", "arrived", "Größe", "endommagé", "lid", "x", "w1", "Pfanne"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SNIPPET_WORDS + [" ", ", ", ".\n", "  "]), max_size=400),
       st.sets(st.sampled_from(_SNIPPET_WORDS), min_size=1, max_size=3))
def test_snippets_mark_exactly_the_matched_words_in_at_most_two_short_passages(parts, wanted) -> None:
    body = "".join(parts)
    words = frozenset(terms(" ".join(wanted)))
    found = snippet(body, words)
    if not set(terms(body)) & words:
        assert found is None
        return
    assert found is not None
    passages = found.split(BETWEEN)
    assert 1 <= len(passages) <= 2
    for passage in passages:
        pieces = passage.split("**")
        assert "".join(pieces) in body                       # the body's own text, only marked
        assert all(terms(marked) and set(terms(marked)) <= words for marked in pieces[1::2])
        assert not set(terms("".join(pieces[0::2]))) & words  # nothing that matched is left unmarked
        assert len("".join(pieces)) <= MAX_CHARS


_FILE_STEPS = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readline"), st.integers(-1, 40)),
    st.tuples(st.just("readinto"), st.integers(0, 40)),
    st.tuples(st.just("seek"), st.integers(0, 80), st.just(0)),
    st.tuples(st.just("seek"), st.integers(-20, 20), st.sampled_from([1, 2])),
    st.tuples(st.just("tell"))), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60).map(lambda data: data.replace(b"x", b"\n")), _FILE_STEPS)
def test_a_segment_part_read_from_its_memory_map_reads_as_a_copy_would(data: bytes, steps) -> None:
    """Whoosh's BufferFile copied each part of a segment into a BytesIO; the speedup reads the
    memory map in place. Any sequence of reads, seeks and tells must answer as BytesIO does."""
    view, copy = BufferFile(memoryview(data)).file, BytesIO(data)
    assert not isinstance(view, BytesIO)
    for name, *args in steps:
        if name == "seek" and {0: 0, 1: copy.tell(), 2: len(data)}[args[1]] + args[0] < 0:
            continue  # before the start: BytesIO refuses, and Whoosh never asks
        if name == "readinto":
            into_view, into_copy = bytearray(args[0]), bytearray(args[0])
            assert view.readinto(into_view) == copy.readinto(into_copy) and into_view == into_copy
        else:
            assert getattr(view, name)(*args) == getattr(copy, name)(*args), (name, args)


def test_fresh_searchers_map_the_index_instead_of_copying_it(tmp_path: Path) -> None:
    """At 1M messages a searcher held 3.9 GB resident for 2.1 GB of index: every part of every
    segment was copied out of its memory map. Ten searchers (ten commits) must not hold ten copies."""
    folder = tmp_path / "index"
    folder.mkdir()
    built = whoosh_index.create_in(str(folder), Schema(id=ID(stored=True), blob=STORED))
    with built.writer() as writer:
        for number in range(8):
            writer.add_document(id=str(number), blob=random.Random(number).randbytes(1_000_000).hex())
    size = sum(path.stat().st_size for path in folder.iterdir())

    def private_bytes() -> int:
        status = Path("/proc/self/status").read_text().splitlines()
        return 1024 * int(next(line.split()[1] for line in status if line.startswith("RssAnon:")))

    opened = whoosh_index.open_dir(str(folder))
    before = private_bytes()
    searchers = [opened.searcher() for _ in range(10)]
    assert all(searcher.stored_fields(7)["id"] == "7" for searcher in searchers)
    grown = private_bytes() - before
    assert grown < size, f"{grown:,} bytes more for 10 searchers of a {size:,}-byte index"
