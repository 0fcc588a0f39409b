"""What the site's contract tests share: the check that a request was refused with a reason, and the IDs of what
they define (the `stocked_site` fixture in tests/contract/conftest.py defines them)."""

from __future__ import annotations

from collections.abc import Callable

MakeToken = Callable[..., str]
SITE_CODE = "PS1"
MP_FQDN = "cm01.corp.contoso.example"
PACKAGE = "PS100011"
TASK_SEQUENCE = "PS100020"
DEPLOYMENT = "PS120001"
POLICY = f"{DEPLOYMENT}-{TASK_SEQUENCE}-6F6BCC28"

