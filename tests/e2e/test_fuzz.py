"""Property-based fuzzing of the whole API over HTTP, driven by the committed openapi.json (schemathesis):
every operation, positive and negative data, the document's examples, a fixed seed and a bounded number
of cases per operation so that it fits in ``make test``; ``make fuzz`` runs far more, with the coverage
phase's boundary values (FUZZ_MAX_EXAMPLES, FUZZ_PHASES, FUZZ_MAX_TIME, FUZZ_SEED). Pass: no 5xx, no
undocumented status, every response body, header and content type as documented, and the stack's stream
mappings still reading afterwards (a stored item they cannot read back stalls them). The schemathesis
summary is kept in test-output/fuzz/schemathesis.txt."""

from __future__ import annotations

import json
import os
import re

from local.cfn import ROOT
from local.emulation import dev_setting
from tests.e2e.conftest import OUTPUT
from tests.fuzz.run import QUICK_PHASES, run

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
PHASES = os.environ.get("FUZZ_PHASES", QUICK_PHASES)
MAX_TIME = int(os.environ.get("FUZZ_MAX_TIME", "0")) or None  # schemathesis repeats fuzzing until a time budget is spent
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))


def test_the_fuzzer_finds_nothing(stack):
    document = json.loads((ROOT / "openapi.json").read_text())
    operations = sum(len(methods) for methods in document["paths"].values())
    result = run(
        stack.base_url,
        jwt_secret=dev_setting("LOCAL_JWT_SECRET"),
        api_token=dev_setting("LOCAL_API_TOKEN"),
        agora_secret=dev_setting("AGORA_NOTIFICATION_SECRET"),
        max_examples=MAX_EXAMPLES,
        seed=SEED,
        max_time=MAX_TIME,
        phases=PHASES,
        report_dir=OUTPUT / "fuzz",
    )
    output = result.stdout + result.stderr
    (OUTPUT / "fuzz").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "fuzz" / "schemathesis.txt").write_text(output)  # the run's figures: operations, cases, failures
    assert result.returncode == 0, output[-20000:]
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) == operations, output[-5000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and int(generated.group(1)) >= operations * 5 and generated.group(1) == generated.group(2), output[-5000:]
    # what was sent must not have broken the stack behind the answers: the table's stream mappings (events
    # out, audience counts, search index) kept reading; a record they cannot read stalls them for good
    log = stack.log.read_text(errors="replace")
    stalled = [line for line in log.splitlines() if "[streams]" in line]
    assert not stalled, stalled[:5]
    # the notifications were signed as Agora signs them: the fuzzer got past the webhook's 401 to its
    # validation (400) and to the presence code (200)
    webhook = set(re.findall(r'"POST /webhooks/agora HTTP/1\.1" (\d{3})', log))
    assert {"200", "400"} <= webhook, webhook
