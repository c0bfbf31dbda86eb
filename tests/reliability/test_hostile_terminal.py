"""Hostile text against the real terminal (research/reliability.md §2; "Tests deskterm must pass" 14-17).

1. An escape-sequence corpus, each payload tagged with a nonce, delivered the ways outside text
   arrives (mail headers, plain and HTML bodies, attachment names, Shopify and TikTok Shop over
   their loopback servers, a ledger report), rendered on every screen of the real `deskterm` in a
   pseudo-terminal: the bytes it writes hold no ESC or C1 CSI within any payload, and every nonce
   navigated to is there as text.
2. Rich/Textual markup in subjects and bodies is shown literally, with no link or click action.
3. A 10 MB one-line body and a 1,000,000-line body stay responsive (figures printed, ceilings only).
4. Clipboard: OSC 52 only for an explicit copy command.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
import urllib.parse
from dataclasses import dataclass, field
from fcntl import ioctl
from pathlib import Path

import pytest
import test_desk
import test_tui
from shopify_server import ShopifyServer, line_item
from shopify_server import order as shop_order
from test_desk import SELLER, deliver, hours_ago, mail
from test_tui import app_for, opened
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, OptionList
from tiktok_server import TikTokServer, buyer_message, conversation

from deskterm.widgets.queue_list import QueueList

ROOT = Path(__file__).resolve().parents[2]

# -- the corpus --------------------------------------------------------------------------------------

ESC, BEL, ST, C1_ST = "\x1b", "\x07", "\x1b\\", "\x9c"


def payloads() -> list[tuple[str, str]]:
    """(what it is, the hostile text): every C0 byte, DEL, every C1 code point, and the sequences
    and invisible characters of research/reliability.md §2.1."""
    found = [(f"C0 {code:02X}", chr(code)) for code in range(0x20)]
    found.append(("DEL", "\x7f"))
    found += [(f"C1 {code:02X}", chr(code)) for code in range(0x80, 0xA0)]
    for name, body in (("OSC 0 title", "0;PWNED title"), ("OSC 2 title", "2;PWNED title"),
                       ("OSC 8 link", "8;;https://evil.example/x"), ("OSC 52 write", "52;c;cHduZWQ="),
                       ("OSC 52 read", "52;c;?"), ("OSC 9;7 ConEmu run", "9;7;calc.exe")):
        for terminator, end in (("BEL", BEL), ("ST", ST), ("C1 ST", C1_ST)):
            found.append((f"{name} {terminator}", ESC + "]" + body + end))
        found.append((f"{name} C1 OSC", "\x9d" + body + BEL))
    found += [
        ("OSC 8 hyperlink pair", f"{ESC}]8;;https://evil.example/{ST}click{ESC}]8;;{ST}"),
        ("OSC 52 unterminated", f"{ESC}]52;c;cHduZWQ="),
        ("DCS XTGETTCAP", f"{ESC}P+q544e{ST}"), ("DCS sixel", f"{ESC}Pq#0;2;0;0;0#0~~@@vv@@~~$-{ST}"),
        ("DCS DECRQSS", f"{ESC}P$qm{ST}"), ("C1 DCS", "\x90+q544e\x9c"), ("APC kitty", f"{ESC}_Gf=100;AAAA{ST}"),
        ("PM", f"{ESC}^private{ST}"), ("SOS", f"{ESC}Xstring{ST}"),
        ("CSI 21 t title report", f"{ESC}[21t"), ("CSI 20 t icon report", f"{ESC}[20t"),
        ("CSI 201~ paste end", f"{ESC}[201~"), ("CSI 200~ paste start", f"{ESC}[200~"),
        ("paste end then command", f"{ESC}[201~rm -rf ~\r"), ("CSI 2J clear", f"{ESC}[2J"),
        ("CSI 3J scrollback", f"{ESC}[3J"), ("CSI SGR red", f"{ESC}[31m"), ("CSI SGR hidden", f"{ESC}[8m"),
        ("CSI 6n status report", f"{ESC}[6n"), ("CSI cursor home", f"{ESC}[H"), ("CSI cursor up", f"{ESC}[5A"),
        ("CSI alt screen off", f"{ESC}[?1049l"), ("CSI mouse on", f"{ESC}[?1000h"), ("CSI erase line", f"{ESC}[2K"),
        ("C1 CSI clear", "\x9b2J"), ("C1 CSI title report", "\x9b21t"), ("C1 CSI paste end", "\x9b201~"),
        ("C1 CSI SGR", "\x9b31m"), ("RIS reset", f"{ESC}c"), ("DECALN", f"{ESC}#8"), ("DECSC", f"{ESC}7"),
        ("charset G0 graphics", f"{ESC}(0"), ("lone ESC", ESC), ("ESC ESC", ESC + ESC), ("ESC BEL", ESC + BEL),
        ("BS overwrite", "safe\b\b\b\bEVIL"), ("CR overwrite", "safe\rEVIL"), ("NUL inside", "a\x00b"),
    ]
    for code in (0x061C, *range(0x200B, 0x2010), *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF):
        found.append((f"U+{code:04X}", chr(code)))
    found += [("RLO file name", "\u202etxt.exe"), ("isolates", "\u2066\u2067x\u2069\u2068"),
              ("zero-width run", "\u200b\u200c\u200d\u2060\ufeff")]
    return found


@dataclass
class Tagged:
    number: int
    kind: str
    where: str
    text: str  # open marker, the payload with the nonce, close marker

    @property
    def nonce(self) -> str:
        return f"N{self.number:04d}Z"

    @property
    def open(self) -> str:
        return f"o{self.number:04d}o"

    @property
    def close(self) -> str:
        return f"c{self.number:04d}c"


POSITIONS = ("before", "after", "around", "inside")


@dataclass
class Corpus:
    items: list[Tagged] = field(default_factory=list)

    def tag(self, where: str, kind: str, payload: str, position: str) -> str:
        """The payload with a fresh nonce in one of four places, between markers that survive every
        sanitizer (letters and digits only)."""
        item = Tagged(len(self.items) + 1, kind, where, "")
        nonce = item.nonce
        if position == "before":
            inner = payload + nonce
        elif position == "after":
            inner = nonce + payload
        elif position == "around":
            inner = payload + nonce + payload
        else:
            half = max(1, len(payload) // 2)
            inner = payload[:half] + nonce + payload[half:]
        item.text = item.open + inner + item.close
        self.items.append(item)
        return item.text

    def spread(self, where: str, base: list[tuple[str, str]], offset: int = 0) -> list[str]:
        """Every base payload once, the position rotating."""
        return [self.tag(where, kind, payload, POSITIONS[(n + offset) % len(POSITIONS)])
                for n, (kind, payload) in enumerate(base)]

    def where(self, *places: str) -> list[Tagged]:
        return [item for item in self.items if item.where in places]


# -- delivering it ---------------------------------------------------------------------------------

def encoded_word(text: str) -> str:
    """RFC 2047: how arbitrary bytes (CR, LF, ESC) really reach a header."""
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def hostile_mail(number: str, name: str, address: str, subject: str, when: dt.datetime, *, plain: str | None = None,
                 html_body: str | None = None, files: list[str] | None = None, references: str | None = None,
                 latin1: bool = False) -> bytes:
    """A MIME message built by hand, so nothing on the way cleans the payloads: headers as encoded
    words, the body base64 (UTF-8, or ISO-8859-1 where a raw 0x9B byte is a C1 CSI), attachment names
    in RFC 2231 form."""
    head = [f"From: {encoded_word(name)} <{address}>", f"To: {SELLER}", f"Subject: {encoded_word(subject)}",
            f"Message-ID: <{number}@hostile.test>", f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="HOSTILE"']
    if references:
        head += [f"In-Reply-To: {references}", f"References: {references}"]
    kind, text = ("html", html_body) if html_body is not None else ("plain", plain or "")
    charset = "iso-8859-1" if latin1 else "utf-8"
    parts = [f"Content-Type: text/{kind}; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
             + base64.encodebytes(text.encode(charset))]
    for name_ in files or []:
        parts.append(("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
                      f"Content-Disposition: attachment; filename*=utf-8''{urllib.parse.quote(name_, safe='')}"
                      "\r\n\r\n").encode() + base64.encodebytes(b"evidence"))
    return ("\r\n".join(head) + "\r\n\r\n").encode() + b"".join(b"--HOSTILE\r\n" + part + b"\r\n" for part in parts) \
        + b"--HOSTILE--\r\n"


def chunks(items: list, size: int) -> list[list]:
    return [items[n:n + size] for n in range(0, len(items), size)]


# -- the terminal ----------------------------------------------------------------------------------

class Terminal:
    """The real `deskterm` on a pseudo-terminal: keys in, every byte it writes kept."""

    def __init__(self, argv: list[str], rows: int, cols: int, env: dict[str, str]) -> None:
        self.leader, follower = pty.openpty()
        ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.child = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=env,
                                      close_fds=True, start_new_session=True)
        os.close(follower)
        self.output = bytearray()

    def _read(self, seconds: float) -> bool:
        ready, _, _ = select.select([self.leader], [], [], seconds)
        if not ready:
            return False
        try:
            chunk = os.read(self.leader, 1 << 16)
        except OSError:
            return False
        self.output.extend(chunk)
        return bool(chunk)

    def settle(self, quiet: float = 0.25, limit: float = 20) -> None:
        """Read until the program has written nothing for `quiet` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end and self._read(quiet):
            pass

    def wait_for(self, text: bytes, since: int, limit: float = 20) -> bool:
        """Whether `text` was written after byte `since`, waiting up to `limit` seconds for it."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if text in self.output[since:]:
                return True
            self._read(0.05)
        return False

    def keys(self, data: bytes, quiet: float = 0.25) -> None:
        os.write(self.leader, data)
        self.settle(quiet)

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait()
        os.close(self.leader)


def deskterm(home: Path, now: dt.datetime) -> list[str]:
    return [sys.executable, "-m", "deskterm", "--home", str(home), "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]


def terminal_env() -> dict[str, str]:
    """A 256-colour xterm whose size is the pty's (not a COLUMNS/LINES inherited from pytest's shell)."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    return {**env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none", "DESKTERM_AGENT": "maria"}


# -- reading the bytes -----------------------------------------------------------------------------

# What Textual itself writes: CSI sequences, OSC 22 (pointer shape), DECSC/DECRC, keypad modes.
TEXTUAL_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\]22;[\w-]*(?:\x07|\x1b\\)|\x1b[78=>]")
DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\udc80-\udcff]")
OSC52 = re.compile(r"\x1b\]52;|\x9d52;")


@dataclass
class Finding:
    item: Tagged
    span: str
    complete: bool


def rendered_reach(raw: str) -> int:
    """At most how many characters `raw` takes once shown: one per character (a placeholder or
    itself), a tab up to eight."""
    return len(raw) + 7 * raw.count("\t") + 1


def inspect(output: bytes, items: list[Tagged]) -> tuple[dict[str, int], list[Finding], list[Finding]]:
    """For each nonce: how often it is on screen, and the text of its payload at each occurrence that
    holds ESC, a C1 CSI (U+009B, as C2 9B or a raw 0x9B byte), or another control or invisible
    character. The payload's text runs from the nonce to its marker when the marker is as near as the
    payload can render; where it is not (a column cut it, a line broke inside it) it runs to the
    nearest sequence Textual writes itself (the end of the cell run)."""
    text = output.decode("utf-8", "surrogateescape")
    by_nonce = {item.nonce: item for item in items}
    seen: dict[str, int] = {}
    escapes: list[Finding] = []
    others: list[Finding] = []
    for match in re.finditer(r"N\d{4}Z", text):
        item = by_nonce.get(match.group())
        if item is None:
            continue
        seen[item.nonce] = seen.get(item.nonce, 0) + 1
        before, _, after = item.text.partition(item.nonce)
        first, last = max(0, match.start() - rendered_reach(before)), match.end() + rendered_reach(after)
        left, right = text[first:match.start()], text[match.end():last]
        start, end = left.rfind(item.open), right.find(item.close)
        if start >= 0:
            left = left[start + len(item.open):]
        else:  # from the end of the last sequence of Textual's before the nonce
            ends = [m.end() for m in TEXTUAL_SEQUENCE.finditer(text, max(0, first - 64), match.start())]
            left = text[max(first, ends[-1]) if ends else first:match.start()]
        if end >= 0:
            right = right[:end]
        else:  # to the first sequence of Textual's after it
            cut = next((at for at in range(match.end(), last)
                        if text[at] == "\x1b" and TEXTUAL_SEQUENCE.match(text, at)), last)
            right = text[match.end():cut]
        finding = Finding(item, left + item.nonce + right, start >= 0 and end >= 0)
        if "\x1b" in finding.span or "\x9b" in finding.span or "\udc9b" in finding.span:
            escapes.append(finding)
        elif DANGEROUS.search(finding.span):
            others.append(finding)
        if finding.complete:
            seen[item.nonce + " whole"] = seen.get(item.nonce + " whole", 0) + 1
    return seen, escapes, others


def stray_escapes(output: bytes) -> list[str]:
    """ESC sequences in the whole stream that Textual does not write: an OSC, DCS, APC, PM or SOS
    from the data, with the text that follows them."""
    text = TEXTUAL_SEQUENCE.sub("", output.decode("utf-8", "surrogateescape"))
    return [text[m.start():m.start() + 24] for m in re.finditer("\x1b", text)]


# -- 1. the corpus on every screen -----------------------------------------------------------------

SHOP_TOKEN = "shpat_hostile_0123456789"
TT_KEY, TT_SECRET = "6a6hostile", "4eb-hostile-secret"


@pytest.fixture
def hostile_desk(home: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A workspace where every outside string is hostile; the clock is the real one (TikTok signs
    with it). Yields (home, now, corpus, facts)."""
    monkeypatch.setenv("DESKTERM_AGENT", "maria")
    monkeypatch.setenv("T_SHOP_TOKEN", SHOP_TOKEN)
    monkeypatch.setenv("T_TT_SECRET", TT_SECRET)
    monkeypatch.setenv("T_TT_REFRESH", "rt-hostile")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = payloads()
    corpus = Corpus()
    facts: dict[str, object] = {}
    home.mkdir(parents=True)

    shop = ShopifyServer(SHOP_TOKEN)
    tiktok = TikTokServer(TT_KEY, TT_SECRET, refresh_token="rt-hostile")
    # Shopify: the buyer's name, and every line's title and SKU (the order name is a fixed format)
    lines = [line_item(100 + n, corpus.tag("shopify sku", kind, payload, POSITIONS[n % 4]),
                       title=corpus.tag("shopify title", kind, payload, POSITIONS[(n + 1) % 4]))
             for n, (kind, payload) in enumerate(base[::8])]
    hostile_order = shop_order(1, now - dt.timedelta(days=2), lines=lines)
    hostile_order["customer"]["displayName"] = corpus.tag("shopify name", "RLO, OSC 52", "\u202e\x1b]52;c;eA==\x07",
                                                          "around")
    hostile_order["shippingAddress"]["name"] = hostile_order["customer"]["displayName"]
    shop.add_order(hostile_order)
    # TikTok Shop: buyers' nicknames (a ticket each) and one chat of hostile messages
    t0 = int(now.timestamp())
    for n, text in enumerate(corpus.spread("tiktok nickname", base[1::4])):
        tiktok.add_conversation(conversation(n, create_time=t0 - 7200 + n, buyer_nickname=text),
                                [buyer_message(f"hello {n}", t0 - 7000 + n)])
    chat = conversation(99, create_time=t0 - 9000, buyer_nickname="buyer_plain")
    words = corpus.spread("tiktok message", base[::2], offset=2)
    tiktok.add_conversation(chat, [buyer_message(" ".join(group), t0 - 8000 + n)
                                   for n, group in enumerate(chunks(words, 2))])
    facts["chat subject"] = "TikTok Shop chat with buyer_plain"
    facts["shop order"] = hostile_order["name"]
    with shop, tiktok:
        (home / "config.toml").write_text(
            f'own_addresses = ["{SELLER}"]\n'
            f'[channels.shop]\nkind = "shopify"\nshop = "deskterm-test.myshopify.com"\n'
            f'access_token_env = "T_SHOP_TOKEN"\nendpoint = "{shop.endpoint}"\napi_version = "2026-01"\n'
            'history_days = 60\n'
            f'[channels.tiktok]\nkind = "tiktok"\nshop = "Loopback Shop"\napp_key = "{TT_KEY}"\n'
            'app_secret_env = "T_TT_SECRET"\nrefresh_token_env = "T_TT_REFRESH"\n'
            f'endpoint = "{tiktok.endpoint}"\nauth_endpoint = "{tiktok.auth_url}"\nhistory_days = 60\n')
        for channel in ("shop", "tiktok"):
            result = cli("sync", "once", channel, now=stamp)
            assert result.code == 0, result.out + result.err
    # Mail. Subjects: a ticket each, from senders whose names are hostile too.
    messages = []
    subjects = corpus.spread("subject", base)
    senders = corpus.spread("from name (queue)", base, offset=1)
    for n, (subject, name) in enumerate(zip(subjects, senders)):
        messages.append(hostile_mail(f"s{n}", name, f"sender{n}@buyers.example", subject, hours_ago(48 + n / 10),
                                     plain=f"hostilecorpus message {n}"))
    # One long thread: hostile names, plain bodies (two payloads a line) and attachment names.
    files = chunks(corpus.spread("attachment name", base, offset=2), 8)
    lines = chunks(corpus.spread("plain body", base) + corpus.spread("plain body", base, offset=1), 2)
    for n, (names, body) in enumerate(zip(files, chunks(lines, -(-len(lines) // len(files))))):
        text = "\n".join(f"line {k}: {' '.join(pair)}" for k, pair in enumerate(body))
        name = corpus.tag("from name (thread)", *base[(n * 7) % len(base)], POSITIONS[n % 4])
        messages.append(hostile_mail(f"t{n}", name, "thread@buyers.example", "The long thread", hours_ago(30 - n / 10),
                                     plain=text, files=names, references="<t0@hostile.test>" if n else None))
    # An HTML body, and a Latin-1 body whose raw bytes 0x80-0x9F are C1 controls.
    html_items = corpus.spread("html body", base, offset=3)
    html_body = "<html><head><title>x</title><style>p{}</style></head><body>" + "".join(
        f"<p>{html.escape(item, quote=False)}</p>" for item in html_items) + "</body></html>"
    messages.append(hostile_mail("h0", "Html Sender", "html@buyers.example", "The HTML letter", hours_ago(20),
                                 html_body=html_body))
    latin = [corpus.tag("latin-1 body", f"C1 {code:02X} as a raw byte", chr(code), POSITIONS[code % 4])
             for code in range(0x80, 0xA0)]
    messages.append(hostile_mail("l0", "Latin Sender", "latin@buyers.example", "The Latin-1 letter", hours_ago(19),
                                 plain="\n".join(latin), latin1=True))
    # A buyer's mail about the Shopify order links its ticket to that order.
    messages.append(hostile_mail("o0", "Pat", "buyer1@example.com", f"Where is order {hostile_order['name']}?",
                                 hours_ago(10), plain="It has not come."))
    deliver(home, cli, *messages)
    # A ledger whose SKUs are hostile: each loss is a claim on the claims screen.
    ledger = tmp_path / "ledger.txt"
    day = (now - dt.timedelta(days=20)).strftime("%m/%d/%Y")
    one_cell = [p for p in base if not set(p[1]) & set("\t\n\r")]  # a TSV cell cannot hold these
    rows = [f"{day}\tX{n:08d}\tB0X{n:07d}\t{sku}\tThing\tAdjustments\tT{n}\t-2\tLEX1\tSELLABLE\tM\tUS\t0\t2\n"
            for n, sku in enumerate(corpus.spread("ledger sku", one_cell[::6]))]
    ledger.write_text("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
                      "Disposition\tReason\tCountry\tReconciled Quantity\tUnreconciled Quantity\n" + "".join(rows))
    imported = cli("import", ledger, "--json", now=stamp)
    assert imported.code == 0 and imported.json()["rejected"] == [], imported.out + imported.err
    assert cli("claims", "scan", now=stamp).code == 0
    yield home, now, corpus, facts


LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def shown_whole(item: Tagged) -> bool:
    """Whether the payload can reach a screen in one piece, markers and all: an attachment name keeps
    only its last path segment (safe_filename; ST is `ESC \\`), a body line ends at a CR or LF,
    and the HTML reader also breaks lines at VT, FF, FS, GS, RS, NEL, LS and PS."""
    if item.where == "attachment name":
        return not re.search(r"[/\\]", item.text)
    if item.where == "html body":
        return not set(item.text) & set(LINE_BREAKS)
    if item.where in ("plain body", "latin-1 body", "tiktok message"):
        return not set(item.text) & set("\r\n")
    return True


def test_escape_sequence_corpus_on_every_screen(hostile_desk) -> None:
    home, now, corpus, facts = hostile_desk
    assert len(corpus.items) >= 500
    with sqlite3.connect(home / "deskterm.db") as conn:
        tickets = dict(conn.execute("SELECT subject, id FROM tickets"))
        shop_ticket = conn.execute("SELECT id FROM tickets WHERE order_id = ?", (facts["shop order"],)).fetchone()
        claims = conn.execute("SELECT count(*) FROM claims WHERE status IN ('pending', 'open')").fetchone()[0]
    assert shop_ticket, "the buyer's mail was not linked to the Shopify order"
    assert claims == len(corpus.where("ledger sku"))
    order = queue_order(home, now)
    rows, cols = 100, 220
    page = (rows - 8) // 3  # `j` scrolls a ticket by three lines
    screens: dict[str, tuple[int, int]] = {}  # where each screen's bytes are in the output
    started = time.monotonic()
    term = Terminal(deskterm(home, now), rows, cols, terminal_env())
    try:
        def visit(name: str, *keys: bytes, expect: bytes | None = None) -> None:
            mark = len(term.output)
            for key in keys:
                term.keys(key)
                if expect is not None:
                    assert term.wait_for(expect, mark), f"{name}: {expect!r} never came"
                    expect = None
            screens[name] = (screens.get(name, (mark, 0))[0], len(term.output))

        assert term.wait_for(b"tickets", 0, 30), bytes(term.output[-2000:])
        visit("queue", *[b"\x1b[6~"] * (len(order) // (rows - 6) + 1))  # the whole queue, a page at a time

        def read_ticket(name: str, ticket: int, last: Tagged | None = None, *more: bytes) -> None:
            """Open the ticket from the top of the queue, scroll until its last payload is shown."""
            visit(name, b"g" + b"j" * order.index(ticket) + b"\r", expect=f"#{ticket} ".encode())
            for _ in range(40):
                if last is None or last.nonce.encode() in term.output[screens[name][0]:]:
                    break
                visit(name, b"j" * page)
            visit(name, *more, b"\x1b")

        read_ticket("thread", tickets["The long thread"], corpus.where("plain body", "attachment name")[-1])
        read_ticket("html", tickets["The HTML letter"], corpus.where("html body")[-1])
        read_ticket("latin-1", tickets["The Latin-1 letter"], corpus.where("latin-1 body")[-1])
        read_ticket("tiktok chat", tickets[facts["chat subject"]], corpus.where("tiktok message")[-1])
        read_ticket("shopify order", shop_ticket[0], None, b"l", b"l")  # and its timeline
        visit("help", b"\r", b"?", b"\x1b", b"\x1b", b"?", b"\x1b")  # a ticket's keys, the queue's
        visit("claims", b"C", b"j" * claims + b"a", b"\x1b", expect=b"Claims")  # every row, every status
        visit("search", b"/", expect=b"(Enter)")
        visit("search", b"hostilecorpus\r", expect=b"50 messages")
        visit("search", b"\x1b[6~", b"\x1b[6~", b"\x1b")
        term.keys(b"\x11")  # ctrl+q
    finally:
        term.close()
    tui_seconds = time.monotonic() - started
    # The CLI's own rendering of the Shopify ticket (render.py) in a terminal: it shows line titles.
    show = Terminal([*deskterm(home, now), "show", str(shop_ticket[0])], rows, cols, terminal_env())
    try:
        show.settle(1.0, limit=30)
    finally:
        show.close()
    output = bytes(term.output) + bytes(show.output)
    screens["deskterm show"] = (len(term.output), len(output))

    seen, escapes, others = inspect(output, corpus.items)
    assert not escapes, [(f.item.nonce, f.item.where, f.item.kind, f.span) for f in escapes[:10]]
    assert not others, [(f.item.nonce, f.item.where, f.item.kind, f.span) for f in others[:10]]
    assert not stray_escapes(output), stray_escapes(output)[:10]
    text = output.decode("utf-8", "surrogateescape")
    assert not OSC52.search(text)  # no copy command was given: no clipboard write at all (see test 4)
    outside_sequences = TEXTUAL_SEQUENCE.sub("", text).replace("\r", "").replace("\n", "").replace("\x1b", "")
    assert not DANGEROUS.search(outside_sequences), "a control or invisible character reached the terminal"
    # every nonce of a screen we went through is there as text; whole (both markers) where it can be
    navigated = corpus.where("subject", "from name (thread)", "plain body", "attachment name", "html body",
                             "latin-1 body", "tiktok nickname", "tiktok message", "shopify sku", "shopify title",
                             "ledger sku")
    missing = [(i.nonce, i.where, i.kind) for i in navigated if i.nonce not in seen and
               (i.where != "attachment name" or not re.search(r"[/\\]", i.text.split(i.nonce)[1]))]
    assert not missing, missing
    broken = [(i.nonce, i.where, i.kind) for i in navigated if shown_whole(i) and i.nonce + " whole" not in seen]
    assert not broken, broken
    # each screen showed what it is for
    def nonces_on(screen: str, place: str) -> int:
        first, last = screens[screen]
        return sum(1 for i in corpus.where(place) if i.nonce.encode() in output[first:last])

    assert nonces_on("search", "subject") >= 25 and nonces_on("claims", "ledger sku") == claims
    assert nonces_on("shopify order", "shopify sku") == len(corpus.where("shopify sku"))
    assert nonces_on("deskterm show", "shopify title") == len(corpus.where("shopify title"))
    assert b"Keys on this screen" in output[slice(*screens["help"])]
    places = sorted({i.where for i in corpus.items})
    print(f"\n{len(corpus.items)} payloads ({len(payloads())} kinds) in {len(places)} places; "
          f"{sum(v for k, v in seen.items() if k.endswith('Z')):,} nonces read in {len(output):,} bytes; "
          f"TUI session {tui_seconds:.1f} s")
    print("  shown per place:", {p: sum(1 for i in corpus.where(p) if i.nonce in seen) for p in places})


def queue_order(home: Path, now: dt.datetime) -> list[int]:
    """Ticket ids in the order the TUI's queue lists them."""
    from deskterm.cli import Session
    from deskterm.clock import Clock
    from deskterm.triage.queue import QueueFilter, QueuePager

    session = Session(home=str(home), clock=Clock(now))
    pager = QueuePager(session.store, QueueFilter(), now)
    ids = [pager.row(i)["id"] for i in range(pager.count())]
    session.close()
    return ids


# -- 2. markup injection ---------------------------------------------------------------------------

inbox = test_desk.inbox  # the desk's fixture workspace, shared
workspace = test_tui.workspace  # ... plus test_tui's hostile buyer

MARKUP = ["[/]", "[@click=app.quit]x[/]", "[link='https://evil']y[/link]", "[bold]z", "[/bold] closing nothing",
          "[link=https://evil.example/verify]Verify your Amazon account[/link]", "[@click=app.notify('pwned')]track[/]",
          "[red on white]URGENT[/]", "[b][i]nested", "\\[escaped]", "Order [123] late", ":warning: :smile:",
          "$name ${buyer}", "[on #ff0000]", "[reverse][blink]x"]


def rendered(widget: Widget) -> list[Strip]:
    """Every line the widget draws, as Textual composes it for the terminal."""
    return widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))


def actions_and_links(strips: list[Strip]) -> list[str]:
    """Segments that are a link or carry a click action."""
    found = []
    for strip in strips:
        for segment in strip:
            style = segment.style
            if style is not None and (style.link or any(key.startswith("@") for key in style.meta)):
                found.append(f"{segment.text!r}: link={style.link} meta={style.meta}")
    return found


def plain(strips: list[Strip]) -> str:
    return "\n".join(strip.text for strip in strips)


async def test_markup_in_subjects_names_and_bodies_is_text(inbox: Path, cli) -> None:
    """research/reliability.md §2.2: Static(s) with the default markup crashes on `[/]`; Content
    from markup makes links and `@click` actions. deskterm shows every bracket as typed, on every
    screen, and nothing of it is a link or an action."""
    pairs = [MARKUP[n:n + 2] for n in range(0, len(MARKUP), 2)]
    deliver(inbox, cli, *[
        mail(f'"{name}" <markup{n}@example.com>', " ".join(pair), "hostilemarkup\n" + "\n".join(MARKUP),
             hours_ago(0.5 + n / 10), f"mk{n}")
        for n, (pair, name) in enumerate(zip(pairs, MARKUP[::2]))])
    with sqlite3.connect(inbox / "deskterm.db") as conn:
        hostile = [row[0] for row in conn.execute("SELECT id FROM tickets WHERE customer_id IN"
                                                  " (SELECT id FROM customers WHERE address LIKE 'markup%')")]
    assert len(hostile) == len(pairs)
    (inbox / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n[views."[/]"]\nscope = "all"\n'
                                       '[views."[@click=app.quit]v[/]"]\nscope = "open"\n')
    app = app_for(inbox)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("v", "v")  # saved views named in markup, shown in the title
        title = rendered(app.screen.query_one("#title"))
        assert "view [@click=app.quit]v[/]" in plain(title) and not actions_and_links(title)
        await pilot.press("v")
        queue = app.screen.query_one(QueueList)
        lines = rendered(queue)
        assert not actions_and_links(lines)
        for pair in pairs:
            assert " ".join(pair) in plain(lines)  # each subject, brackets and all
        for ticket in hostile:
            app.open_ticket(ticket)
            await pilot.pause()
            view = opened(app)
            widgets = [view.query_one("#conversation-title"), view.query_one("#thread-text"),
                       view.query_one("#context-text")]
            strips = [strip for widget in widgets for strip in rendered(widget)]
            assert not actions_and_links(strips)
            shown = plain(strips)
            assert all(markup in shown for markup in MARKUP), [m for m in MARKUP if m not in shown]
            await pilot.press("l")  # the timeline
            assert not actions_and_links(rendered(view.query_one("#thread-text")))
            await pilot.press("l", "r")  # the composer names the ticket by its subject
            await pilot.pause()
            label = rendered(app.screen.query_one(Label))
            assert not actions_and_links(label) and app.screen.query_one(Label).render().plain in plain(label)
            await pilot.press("escape", "escape")
        await pilot.press("slash", *"hostilemarkup", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        results = app.screen.query_one(OptionList)
        assert results.option_count == len(pairs)
        strips = rendered(results)
        assert not actions_and_links(strips) and "[@click=app.quit]x[/]" in plain(strips)
        await pilot.press("enter")  # a result opens its ticket
        await pilot.pause()
        assert opened(app) is not None and opened(app).ticket_id in hostile
        assert app.is_running  # no MarkupError, and `[@click=app.quit]` quit nothing
    assert app.return_code in (None, 0)


# -- 3. large content ------------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


@pytest.fixture
def huge(inbox: Path, cli) -> dict[str, int]:
    """A 10 MB body on one line, and a body of 1,000,000 lines, delivered as mail."""
    wide = "Refund now. " + "x" * 1000 + " " + "wordy " * (10 * 1024 * 1024 // 6)
    tall = "".join(f"line {n:07d} of the parcel saga\n" for n in range(1_000_000))
    deliver(inbox, cli, mail("wide@buyers.example", "One line of ten megabytes", wide, hours_ago(0.2), "wide"),
            mail("tall@buyers.example", "A million lines", tall, hours_ago(0.1), "tall"))
    with sqlite3.connect(inbox / "deskterm.db") as conn:
        found = dict(conn.execute("SELECT subject, id FROM tickets"))
        sizes = dict(conn.execute("SELECT message_id, length(body) FROM messages WHERE message_id IN"
                                  " ('<wide@test>', '<tall@test>')"))
    assert sizes["<wide@test>"] >= 10 * 1024 * 1024 and sizes["<tall@test>"] >= 30_000_000  # stored whole
    return {"wide": found["One line of ten megabytes"], "tall": found["A million lines"]}


async def test_huge_bodies_keep_the_ui_responsive(inbox: Path, huge: dict[str, int]) -> None:
    """Keypress to rendered frame, and memory, while two huge messages are opened and read. Speed goals
    live in bench/; this asserts only ceilings that catch a hang (2 s a key, 400 MB) and prints the
    figures (with `pytest -s`)."""
    before_app = rss_mb()
    app = app_for(inbox)
    figures: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        baseline = rss_mb()
        timings: dict[str, list[float]] = {}

        async def timed(name: str, *keys: str) -> None:
            for key in keys:
                started = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                timings.setdefault(name, []).append(time.perf_counter() - started)

        for name, ticket in huge.items():
            queue.cursor = next(i for i in range(queue.pager.count()) if queue.pager.row(i)["id"] == ticket)
            await pilot.pause()
            await timed(f"{name}: open (enter)", "enter")
            view = opened(app)
            assert view is not None and view.ticket_id == ticket
            thread = view.query_one("#thread", VerticalScroll)
            await timed(f"{name}: scroll (j)", *"j" * 20)
            assert thread.scroll_y == min(60, thread.max_scroll_y) > 0  # every key moved it, none was lost
            await timed(f"{name}: scroll back (k)", *"k" * 10)
            await timed(f"{name}: timeline and back (l)", "l", "l")
            shown = plain(rendered(view.query_one("#thread-text")))
            assert "[cut: this message has" in shown and "prints it whole" in shown
            await timed(f"{name}: back to the queue (escape)", "escape")
            await timed("queue: cursor (j/k)", "j", "k", "down", "up")
        grown = rss_mb() - baseline
        for name, values in timings.items():
            figures.append(f"{name:<34} {len(values):>3} keys  max {max(values) * 1000:7.1f} ms  "
                           f"mean {sum(values) / len(values) * 1000:7.1f} ms")
        figures.append(f"RSS: {before_app:.0f} MB before the app, {baseline:.0f} MB at the queue, "
                       f"+{grown:.0f} MB after opening and reading both")
    report = "huge bodies (10 MB on one line; 1,000,000 lines), Textual pilot at 120x40\n" + "\n".join(figures)
    print("\n" + report)  # `pytest -s` shows it; docs/reliability.md keeps the last figures
    slowest = max((max(values), name) for name, values in timings.items())
    assert slowest[0] < 2.0, f"{slowest[1]} took {slowest[0]:.1f} s"
    assert grown < 400, f"RSS grew by {grown:.0f} MB"


# -- 4. clipboard ----------------------------------------------------------------------------------

def clipboard_writes(output: bytes) -> list[str]:
    """The text of every OSC 52 clipboard write in the stream."""
    return [base64.b64decode(m.group(1)).decode("utf-8", "surrogateescape")
            for m in re.finditer(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)(?:\x07|\x1b\\)", output)]


def test_the_clipboard_is_written_only_by_an_explicit_copy_and_never_with_escapes(workspace: Path) -> None:
    """deskterm's only copy commands are Textual's: ctrl+c on text selected with the mouse, and ctrl+c in
    an input. In a pseudo-terminal: opening and reading the hostile ticket (whose body holds an OSC 52)
    writes nothing to the clipboard; each explicit copy writes once, and what it copies is the text as
    shown (␛ for ESC), never an escape sequence."""
    source = "\n".join(path.read_text() for path in (ROOT / "src" / "deskterm").rglob("*.py"))
    assert "]52;" not in source and "copy_to_clipboard" not in source  # no copy of its own: update this test
    with sqlite3.connect(workspace / "deskterm.db") as conn:
        hostile = conn.execute("SELECT id FROM tickets WHERE subject LIKE 'Order 114-0000000-1111111%'").fetchone()[0]
    order = queue_order(workspace, test_desk.NOW)
    term = Terminal(deskterm(workspace, test_desk.NOW), 40, 120, terminal_env())
    copies = 0
    try:
        assert term.wait_for(b"6 tickets", 0, 30)
        term.keys(b"j" * order.index(hostile) + b"\r", 0.5)
        term.keys(b"jkl" + b"l", 0.5)  # scroll, the timeline and back
        assert not clipboard_writes(bytes(term.output)), "reading a ticket wrote to the clipboard"
        term.keys(b"\x03")  # ctrl+c with nothing selected: no copy
        # select the thread's first lines with the mouse (SGR reports: press, drag, release), then copy
        term.keys(b"\x1b[<0;3;3M\x1b[<32;60;5M\x1b[<32;118;7M\x1b[<0;118;7m", 0.3)
        term.keys(b"\x03")
        copies += 1
        term.keys(b"\x1b/", 0.5)  # search: type a query, select it, copy it
        term.keys(b"Evil\x01\x1b[1;2F", 0.3)  # home, shift+end selects it
        term.keys(b"\x03")
        copies += 1
        term.keys(b"\x1b\x11")
    finally:
        term.close()
    writes = clipboard_writes(bytes(term.output))
    assert len(writes) == len(re.findall(rb"\x1b\]52;", bytes(term.output))) == copies, writes
    assert "Evil" in writes[0] and "\u241b]52;c;cHduZWQ=" in writes[0]  # the hostile text, as shown
    for text in writes:
        assert not DANGEROUS.search(text.replace("\n", "").replace("\t", "")), repr(text)
