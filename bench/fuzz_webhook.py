"""Fuzz the webhook with hypothesis: random and mutated XML, encodings, huge fields, wrong types,
wrong, stale and replayed signatures, processing instructions hiding DTDs, deep nesting,
truncated AES payloads. Counts server errors (must be 0).

    .venv/bin/python -m bench.fuzz_webhook --cases 100000
"""

from __future__ import annotations

import argparse
import collections
import logging
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import write_section
from bot import create_app
from bot.clock import FixedClock, shanghai
from bot.infra.migrate import upgrade
from bot.wechat.gateway import sign
from tests.fuzzing import SIGNATURES, mutated_bodies, signed_request
from tests.settings import TOKEN, make_config


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp(prefix="smb-fuzz-"))
    url = f"sqlite:///{workdir / 'bot.infra.db'}"
    upgrade(url)
    app = create_app(make_config(url), clock=FixedClock(shanghai(2021, 6, 1, 10)))
    client = app.test_client()
    statuses: collections.Counter[int] = collections.Counter()
    truncated = [0]

    @settings(max_examples=args.cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=mutated_bodies(), encrypted=st.booleans(), signature=st.sampled_from(SIGNATURES),
           cut=st.integers(0, 200))
    def case(body: bytes, encrypted: bool, signature: str, cut: int) -> None:
        query, data = signed_request(body, encrypted, signature)
        if encrypted and cut:
            # Truncate the AES payload, signed over the truncated text as an attacker holding the token would.
            inner = data.split(b"<![CDATA[")[1].split(b"]]>")[0][:-cut] or b"A"
            data = b"<xml><Encrypt><![CDATA[" + inner + b"]]></Encrypt></xml>"
            timestamp, nonce = parse_qs(query)["timestamp"][0], parse_qs(query)["nonce"][0]
            query = re.sub(r"msg_signature=\w+", "msg_signature=" + sign(TOKEN, timestamp, nonce, inner.decode()), query)
            truncated[0] += 1
        statuses[client.post(f"/wechat?{query}", data=data, content_type="text/xml").status_code] += 1

    started = time.monotonic()
    case()
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    errors = sum(n for code, n in statuses.items() if code >= 500)
    lines = [f"cases: {total}  in {elapsed:.0f} s", "status codes: " + ", ".join(f"{c}: {n}" for c, n in sorted(statuses.items())),
             f"truncated AES payloads among them: {truncated[0]}", f"server errors (5xx): {errors}"]
    print("\n".join(lines))
    write_section("Webhook fuzzing", "Command: `.venv/bin/python -m bench.fuzz_webhook --cases "
                  f"{args.cases}`\n\n" + "\n".join(f"- {line}" for line in lines))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
