"""The terminal UI through Textual's Pilot: every screen and key path, on a real workspace."""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_desk
from test_desk import NOW, ORDERS, SELLER, deliver, hours_ago, mail, relay, ticket_of
from textual.widgets import OptionList, Static, TextArea

from deskterm.app import DesktermApp
from deskterm.cli import Session
from deskterm.clock import Clock
from deskterm.screens.composer import ComposerScreen
from deskterm.screens.help import HelpScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.queue import QueueScreen
from deskterm.screens.search import SearchScreen
from deskterm.triage.queue import QueueFilter, QueuePager
from deskterm.widgets.conversation_view import ConversationView
from deskterm.widgets.queue_list import QueueList

inbox = test_desk.inbox  # the desk's fixture workspace, shared
HOSTILE = "Evil [/] [@click=app.quit]quit[/] [bold red]x \x1b]52;c;cHduZWQ=\x07 \x1b[2J \u202etxt.exe \u200b"


@pytest.fixture
def workspace(inbox: Path, cli) -> Path:
    """The desk's inbox plus a buyer whose words are terminal and markup attacks."""
    deliver(inbox, cli, mail(f'"{HOSTILE}" <evil5v@marketplace.amazon.com>', f"Order 114-0000000-1111111 {HOSTILE}",
                             relay(HOSTILE), hours_ago(0.5), "evil"))
    return inbox


def app_for(home: Path) -> DesktermApp:
    session = Session(home=str(home), clock=Clock(NOW))
    session.triage()
    return DesktermApp(session)


def opened(app: DesktermApp) -> ConversationView | None:
    """The ticket on show, when the queue screen is showing one."""
    if not isinstance(app.screen, QueueScreen):
        return None
    view = app.screen.query_one(ConversationView)
    return view if view.display else None


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "deskterm.db")
    conn.row_factory = sqlite3.Row
    return conn


async def test_queue_navigation_and_opening_a_ticket(workspace: Path) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        assert isinstance(app.screen, QueueScreen) and queue.pager.count() == 6
        assert queue.pager.row(0)["order_id"] == ORDERS["karl"]  # critical first
        await pilot.press("j", "j")
        assert queue.cursor == 2
        await pilot.press("G")
        assert queue.cursor == 5
        await pilot.press("g", "k")
        assert queue.cursor == 0
        await pilot.press("enter")
        await pilot.pause()
        assert opened(app) is not None and opened(app).ticket_id == queue.pager.row(0)["id"]
        assert not queue.display
        await pilot.press("escape")
        assert opened(app) is None and queue.display and queue.has_focus


async def test_moving_focus_would_restyle_nothing_on_the_queue_or_a_ticket(workspace: Path) -> None:
    """The queue and the conversation skip Textual's restyle when focus moves (FocusUnstyled),
    which is right only while no CSS rule styles them by focus: restyle them by hand with the
    ticket open and closed, and nothing may change."""
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        conversation = app.screen.query_one(ConversationView)
        nodes = [queue, conversation, *conversation.walk_children()]

        def look() -> list:
            return [(node.styles.base.css, node.rich_style, [node.get_component_rich_style(name, partial=True)
                                                        for name in sorted(type(node).COMPONENT_CLASSES)])
                    for node in nodes]

        unfocused = look()
        for key in ("enter", "escape"):
            await pilot.press(key)
            await pilot.pause()
            assert conversation.has_focus == (key == "enter") and queue.has_focus == (key == "escape")
            app.stylesheet.update_nodes(nodes)
            assert look() == unfocused


async def test_order_pane_and_timeline_show_shipping_and_codes(workspace: Path, cli, tmp_path: Path) -> None:
    """The order, its shipment (date, carrier, tracking) and the SKU's FNSKU learnt from the ledger."""
    joe = ORDERS["joe"]
    orders = tmp_path / "orders.txt"
    orders.write_text(
        "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsales-channel\t"
        "sku\tasin\tquantity\tcurrency\titem-price\n"
        f"{joe}\t2026-11-10T09:00:00Z\t2026-11-11T09:00:00Z\tShipped\tAmazon\tAmazon.com\t"
        "AK-PAN-28\tB0D1QH7W3N\t1\tUSD\t49.99\n")
    shipments = tmp_path / "shipments.txt"
    shipments.write_text(
        "amazon-order-id\tshipment-id\tshipment-item-id\tshipment-date\tsku\tquantity-shipped\tcarrier\t"
        "tracking-number\testimated-arrival-date\tfulfillment-center-id\tsales-channel\n"
        f"{joe}\tDk1\tDk1-01\t2026-11-11T08:00:00Z\tAK-PAN-28\t1\tAMZN_US\tTBA777000111222\t"
        "2026-11-15T20:00:00Z\tBFI4\tAmazon.com\n")
    ledger = tmp_path / "ledger.txt"
    ledger.write_text(
        "Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
        "Disposition\tReason\tCountry\n"
        "11/11/2026\tX00B2M8RTL\tB0D1QH7W3N\tAK-PAN-28\tPan\tShipments\tDk1\t-1\tBFI4\tSELLABLE\t\tUS\n")
    assert cli("import", orders, shipments, ledger).code == 0
    with db(workspace) as conn:
        ticket = conn.execute("SELECT id FROM tickets WHERE order_id = ?", (joe,)).fetchone()[0]
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(ticket)
        await pilot.pause()
        view = opened(app)
        pane = str(view.query_one("#context-text", Static).render())
        assert "shipped: 2026-11-11T08:00:00Z" in pane and "tracking: TBA777000111222" in pane
        assert "ASIN B0D1QH7W3N FNSKU X00B2M8RTL" in pane
        # "where is my order" after the promised arrival: escalated, and the pane says why
        assert "past the latest delivery date (2026-11-15T20:00:00Z)" in pane
        await pilot.press("l")
        thread = str(view.query_one("#thread-text", Static).render())
        assert re.search(r"2026-11-11 08:00\s+shipped\s+1 × AK-PAN-28 shipped from BFI4 \(AMZN_US TBA777000111222\)",
                         thread)


async def test_queue_filters(workspace: Path) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        await pilot.press("r")  # critical and up
        assert queue.pager.count() == 1
        await pilot.press("r", "r", "r")  # back to any
        await pilot.press("c")  # amazon only
        assert queue.pager.count() == 5
        await pilot.press("c", "c", "c")  # shopify, tiktok, email
        assert queue.pager.count() == 1
        await pilot.press("c", "f")  # all channels; mine
        assert queue.pager.count() == 0
        await pilot.press("f", "f")  # all tickets
        assert queue.pager.count() == 6


async def test_conversation_actions_by_key(workspace: Path) -> None:
    joe = ticket_of(workspace, ORDERS["joe"])
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(joe)
        await pilot.pause()
        await pilot.press("n")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"called the carrier", "enter")
        await pilot.press("t")
        await pilot.press(*"+vip +late -none", "enter")
        await pilot.press("a")
        await pilot.press("s")
        await pilot.press(*"2h", "enter")
        await pilot.pause()
        with db(workspace) as conn:
            ticket = conn.execute("SELECT tags, assignee, snoozed_until FROM tickets WHERE id = ?", (joe,)).fetchone()
            note = conn.execute("SELECT body, agent FROM notes WHERE ticket_id = ?", (joe,)).fetchone()
        assert tuple(note) == ("called the carrier", "maria")
        assert ticket["tags"] == '["vip", "late"]' and ticket["assignee"] == "maria"
        assert ticket["snoozed_until"] == "2026-11-20T14:00:00Z"
        await pilot.press("c")  # Amazon buyer messages are unanswered: refused, with the reason shown
        await pilot.pause()
        assert any("unanswered buyer message" in str(n.message) for n in app._notifications)
        await pilot.press("N", *"buyer will wait", "enter")
        await pilot.pause()
        with db(workspace) as conn:
            assert conn.execute("SELECT status FROM tickets WHERE id = ?", (joe,)).fetchone()[0] == "closed"
        await pilot.press("l")
        await pilot.pause()
        timeline = str(opened(app).query_one("#thread-text", Static).render())
        assert "note" in timeline and "called the carrier" in timeline


async def test_composer_checks_as_you_type_sends_and_undoes(workspace: Path) -> None:
    karl = ticket_of(workspace, ORDERS["karl"])
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(karl)
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ComposerScreen)
        app.screen.query_one(TextArea).insert("Call us: +49 30 1234 5678")
        await pilot.pause()
        problems = str(app.screen.query_one("#problems", Static).render())
        assert "phone number" in problems and "order id" in problems
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ComposerScreen)  # refused: still composing
        area = app.screen.query_one(TextArea)
        area.clear()
        area.insert(f"Wir erstatten die Bestellung {ORDERS['karl']} heute.")
        await pilot.pause()
        assert str(app.screen.query_one("#problems", Static).render()) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert opened(app) is not None
        with db(workspace) as conn:
            assert conn.execute("SELECT count(*) FROM send_queue").fetchone()[0] == 1
        await pilot.press("u")
        await pilot.pause()
        with db(workspace) as conn:
            assert conn.execute("SELECT count(*) FROM send_queue").fetchone()[0] == 0
            assert conn.execute("SELECT status FROM tickets WHERE id = ?", (karl,)).fetchone()[0] == "open"
            assert conn.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0] == "undo_reply"


async def test_template_into_the_composer(workspace: Path) -> None:
    joe = ticket_of(workspace, ORDERS["joe"])
    with db(workspace) as conn:
        conn.execute("INSERT INTO orders (order_id, marketplace, tracking) VALUES (?, 'US', '1Z999AA10123456784')",
                     (ORDERS["joe"],))
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(joe)
        await pilot.pause()
        await pilot.press("T", *"wimo", "enter")
        await pilot.pause()
        text = app.screen.query_one(TextArea).text
        assert text.startswith("Dear Joe") and "1Z999AA10123456784" in text and ORDERS["joe"] in text


async def test_search_opens_the_ticket_at_the_message(workspace: Path) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"Rückbuchung", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one(OptionList).option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert opened(app) is not None and opened(app).message_id == "<k1@test>"
        await pilot.press("slash", *"danneggiato", "enter")  # a search from inside a ticket
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert opened(app) is not None and opened(app).message_id == "<a1@test>"
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "QueueScreen"]
        await pilot.press("slash", *"from:(", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "query:" in str(app.screen.query_one("#summary", Static).render())


async def test_help_palette_and_keymap(workspace: Path) -> None:
    (workspace / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n[keys]\n"conversation.reply" = "R"\n')
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Scope" in str(app.screen.query_one(Static).render())
        await pilot.press("escape", "enter")
        await pilot.pause()
        await pilot.press("question_mark")  # with a ticket open: its keys, as remapped, not the queue's
        helped = str(app.screen.query_one(Static).render())
        assert re.search(r"^  R\s+Reply$", helped, re.M) and "Scope" not in helped and "Channel" not in helped
        await pilot.press("escape", "f")  # the queue's filters are off while a ticket is open
        assert opened(app) is not None and app.screen.scope == "open"
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ComposerScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"timeline", "enter")
        await pilot.pause()
        assert opened(app) is not None and opened(app).show_timeline


async def test_hostile_text_shows_literally_and_crashes_nothing(workspace: Path) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        index = next(i for i in range(queue.pager.count()) if "Evil" in (queue.pager.row(i)["subject"] or ""))
        queue.cursor = index
        await pilot.pause()
        lines = "".join(segment.text for y in range(queue.size.height) for segment in queue.render_line(y))
        assert "[@click=app.quit]" in lines and "\x1b" not in lines and "\u202e" not in lines
        await pilot.press("enter")
        await pilot.pause()
        shown = "".join(str(widget.render()) for widget in opened(app).query(Static))
        assert "[@click=app.quit]quit[/]" in shown and "[bold red]" in shown
        assert "\x1b" not in shown and "\u202e" not in shown and "\u200b" not in shown and "\x07" not in shown
        assert app.is_running  # the click markup did not quit the app


async def test_the_queue_follows_new_mail(workspace: Path, cli) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        before = queue.pager.count()
        deliver(workspace, cli, mail('"Kim - Amazon Marketplace" <kim1q@marketplace.amazon.com>', "Order 113-1212121-3434343",
                                     relay("My parcel never arrived"), hours_ago(0.2), "kim"))
        app.poll_store()  # what the app's timer does every 2 s
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert queue.pager.count() == before + 1
        assert any(queue.pager.row(i)["order_id"] == "113-1212121-3434343" for i in range(queue.pager.count()))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_queue_snapshot(workspace: Path, snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(workspace), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_conversation_snapshot(workspace: Path, snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(workspace), press=["enter"], terminal_size=size)


@pytest.mark.parametrize("colours", [{}, {"NO_COLOR": "1"}, {"TEXTUAL_COLOR_SYSTEM": "standard"}],
                         ids=["truecolor", "no-color", "16-colours"])
def test_raw_terminal_bytes_hold_no_escape_sequence_from_message_data(workspace: Path, colours: dict) -> None:
    """The real CLI in a pseudo-terminal: open the hostile ticket, read every byte sent to the terminal.
    Also with NO_COLOR (Textual renders in greys; risk and lateness must read as words) and in a
    16-colour terminal, where no 256-colour or RGB sequence may appear."""
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time
    from fcntl import ioctl

    with db(workspace) as conn:
        hostile = conn.execute("SELECT id FROM tickets WHERE subject LIKE 'Order 114-0000000-1111111%'").fetchone()[0]
    session = app_for(workspace).session
    queue = QueuePager(session.store, QueueFilter(), NOW)  # where the screen will list it
    position = next(i for i in range(queue.count()) if queue.row(i)["id"] == hostile)
    session.close()
    leader, follower = pty.openpty()
    ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none", "DESKTERM_AGENT": "maria", **colours}
    child = subprocess.Popen([sys.executable, "-m", "deskterm", "--home", str(workspace), "--now", NOW.isoformat()],
                             stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    seen = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    seen.extend(os.read(leader, 65536))
                except OSError:
                    return

    try:
        read_for(4)
        os.write(leader, b"j" * position + b"\r")
        read_for(3)
        os.write(leader, b"l")  # the timeline too
        read_for(2)
        os.write(leader, b"\x11")  # ctrl+q
        read_for(2)
    finally:
        child.kill()
        child.wait()
        os.close(leader)
    output = bytes(seen)
    assert "Evil".encode() in output and "[@click=app.quit]".encode() in output  # shown, literally
    for attack in (b"\x1b]52", b"\x1b]0;", b"cHduZWQ=\x07", b"\xe2\x80\xae", b"\xe2\x80\x8b"):
        assert attack not in output, attack
    assert not any("\x80" <= ch <= "\x9f" for ch in output.decode("utf-8", "replace")), "a C1 control reached the terminal"
    assert "\u241b]52;c;cHduZWQ=".encode() in output  # the OSC 52 payload arrives as visible text
    if "TEXTUAL_COLOR_SYSTEM" in colours:
        assert not re.search(rb"\x1b\[[0-9;]*[34]8;[25];", output), "a 256-colour or RGB sequence was sent"
    assert b"LATE" in output and b"CRIT" in output  # risk and lateness read without colour too


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")
def test_a_real_terminal_at_80x24_in_16_colours(workspace: Path, tmp_path: Path) -> None:
    """deskterm in tmux, a real terminal emulator, sized 80×24 with TERM=screen (16 colours, found by
    Textual itself): what the emulator shows is read back from its screen, keys are typed into it."""
    socket = str(tmp_path / "tmux.sock")

    def tmux(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-S", socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              timeout=10)

    def screen(escapes: bool = False) -> str:
        return tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "desk").stdout

    def wait_for(text: str, seconds: float = 15) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared; the terminal shows:\n{screen()}")

    command = shlex.join(["env", "-u", "COLORTERM", "-u", "NO_COLOR", "-u", "TEXTUAL_COLOR_SYSTEM", "TERM=screen",
                          "TEXTUAL_ANIMATIONS=none", "DESKTERM_AGENT=maria", sys.executable, "-m", "deskterm",
                          "--home", str(workspace), "--now", NOW.isoformat()])
    assert tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "desk", command).returncode == 0
    try:
        shown = wait_for("6 tickets").splitlines()
        assert len(shown) == 24
        assert shown[-1].strip().endswith("? Help")  # the whole footer fits: nothing cut off
        assert sum(1 for line in shown if re.match(r"\s+\d+ (CRIT|HIGH|MED |low )", line)) == 6
        colours = set(re.findall(r"\x1b\[([0-9;]*)m", screen(escapes=True)))
        codes = {int(code) for group in colours for code in group.split(";") if code}
        assert codes <= {0, 1, 2, 3, 4, 7, 22, 23, 24, 27, 39, 49, *range(30, 38), *range(40, 48), *range(90, 98),
                         *range(100, 108)}, f"beyond 16 colours: {sorted(codes)}"
        row = next(i for i, line in enumerate(shown[1:]) if "Evil" in line)
        tmux("send-keys", "-t", "desk", *["j"] * row, "Enter")
        opened_screen = wait_for("esc Back")
        assert "Evil [/] [@click=app.quit]quit[/]" in opened_screen and "␛]52;c;cHduZWQ=" in opened_screen
        tmux("send-keys", "-t", "desk", "?")
        assert "Reply" in wait_for("Keys on this screen")
        tmux("send-keys", "-t", "desk", "Escape", "Escape")
        wait_for("6 tickets")
        tmux("send-keys", "-t", "desk", "C-q")
        end = time.monotonic() + 10
        while tmux("has-session", "-t", "desk").returncode == 0 and time.monotonic() < end:
            time.sleep(0.2)
        assert tmux("has-session", "-t", "desk").returncode != 0, "ctrl+q did not quit"
    finally:
        tmux("kill-server")


async def test_saved_views_cycle(workspace: Path) -> None:
    (workspace / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n[views.urgent]\nrisk = "critical"\n'
                                           '[views.mail]\nscope = "all"\nchannel = "email"\n')
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        await pilot.press("v")
        assert queue.pager.count() == 1 and "view urgent" in str(app.screen.query_one("#title", Static).render())
        await pilot.press("v")
        assert queue.pager.count() == 1 and queue.pager.row(0)["channel"] == "email"
        await pilot.press("v")
        assert queue.pager.count() == 6


async def test_attachments_are_saved_only_on_the_key_and_safely(workspace: Path, tmp_path: Path) -> None:
    anna = ticket_of(workspace, ORDERS["anna"])
    target = tmp_path / "saved"
    target.mkdir()
    (tmp_path / "outside").mkdir()
    (target / "lid.jpg").symlink_to(tmp_path / "outside" / "pwned")  # a trap: must not be followed
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(anna)
        await pilot.pause()
        assert sorted(p.name for p in target.iterdir()) == ["lid.jpg"]  # opening saved nothing
        await pilot.press("S")
        prompt = app.screen.query_one("#answer")
        prompt.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
    assert sorted(p.name for p in target.iterdir()) == ["1-lid.jpg", "lid.jpg"]
    assert not (tmp_path / "outside" / "pwned").exists()
    assert (target / "1-lid.jpg").read_bytes().startswith(b"\xff\xd8") and (target / "1-lid.jpg").stat().st_mode & 0o777 == 0o600
    with db(workspace) as conn:
        assert conn.execute("SELECT detail FROM audit_log WHERE action = 'save_attachments'").fetchone()[0] == '{"files": 1}'


async def test_error_notices_never_read_typed_text_as_markup(workspace: Path) -> None:
    joe = ticket_of(workspace, ORDERS["joe"])
    app = app_for(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_ticket(joe)
        await pilot.pause()
        await pilot.press("t", *"+[@click=app.quit]x[/]", "enter")
        await pilot.pause()
        [notice] = [n for n in app._notifications if "tag" in n.message]
        assert "[@click=app.quit]" in notice.message and notice.markup is False
        assert app.is_running
