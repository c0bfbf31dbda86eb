"""IMAP sync throughput: messages/s from a real Dovecot on 127.0.0.1 into the store and the search
index (`deskterm sync once`, first sync of a mailbox). Goal on this machine: >= 500 messages/s.

    python bench/sync_bench.py [--messages N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mailservers import PASSWORD, running_dovecot  # noqa: E402
from test_sync import relay_mail, write_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    with running_dovecot() as dovecot, tempfile.TemporaryDirectory() as scratch:
        user = dovecot.new_user()
        start = time.perf_counter()
        dovecot.append(user, [relay_mail(n) for n in range(args.messages)])
        print(f"appended {args.messages:,} messages to Dovecot in {time.perf_counter() - start:.1f} s")
        home = Path(scratch) / "ws"
        home.mkdir()
        write_config(home, dovecot.port, user, 1)
        env = {**os.environ, "DESKTERM_TEST_IMAP_PASSWORD": PASSWORD}
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "sync", "once", "buyer-mail",
                                 "--json"], capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - start
        report = json.loads(result.stdout)["channels"]["buyer-mail"]
        fetched = report["fetched"].get("messages", 0)
        print(f"sync once: {fetched:,} messages into the store, read for risk and indexed in {elapsed:.1f} s: "
              f"{fetched / elapsed:,.0f} messages/s (error: {report['error']})")


if __name__ == "__main__":
    main()
