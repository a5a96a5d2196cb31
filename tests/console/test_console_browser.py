"""The console driven through Debian's chromium with Playwright, as an analyst uses it.

Open the queue, search an account, open its campaign, dismiss the account, see it leave
the queue, run the next increment and see it not flagged again on the same evidence.
Screenshots of every page go to the test's tmp dir, and to ``$DG_CONSOLE_SCREENSHOTS``
(e.g. docs/img) when that is set. Skips only where chromium or Playwright is missing and
``CI`` is not set (CI installs chromium in .ci/run; there a missing browser fails).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dg_console_world import Server, next_increment

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400


def _browser_or_skip() -> str:
    binary = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ModuleNotFoundError:
        binary = None
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium and Playwright are needed for the console browser test in CI")
        pytest.skip("chromium or playwright not installed")
    return binary


def _shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    target = os.environ.get("DG_CONSOLE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _pick(state: Path) -> tuple[str, str]:
    """The highest-scored attack account that is in a campaign."""
    acc = pq.read_table(state / "scan" / "accounts.parquet").to_pylist()
    best = max((r for r in acc if r["verdict"] == "attack" and r["campaign_id"]), key=lambda r: r["score"])
    return best["account_id"], best["campaign_id"]


def test_queue_search_campaign_dismiss_next_increment(
    console_state: Path, console_world, tmp_path: Path
) -> None:
    binary = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    account, campaign = _pick(console_state)
    with Server(console_state) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(server.url + "/")
        expect(page.locator("#queue tbody tr")).not_to_have_count(0)
        expect(page.locator(f"#queue a.acc:text-is('{account}')")).to_have_count(1)
        _shot(page, tmp_path, "queue")

        # keyboard: j selects the first row, Enter opens it
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        expect(page.locator("#queue tbody tr.sel")).to_have_count(1)
        first = page.locator("#queue tbody tr").first.locator("a.acc").inner_text()
        page.keyboard.press("Enter")
        expect(page.locator("h1 .acc")).to_have_text(first)
        page.go_back()

        # search by account id (the "/" key focuses the search box)
        page.keyboard.press("/")
        page.keyboard.type(account[:12])
        page.keyboard.press("Enter")
        expect(page.locator(f"#queue a.acc:text-is('{account}')")).to_have_count(1)
        rows = page.locator("#queue tbody tr").count()
        assert rows >= 1

        page.locator(f"#queue a.acc:text-is('{account}')").click()
        expect(page.locator("h1 .acc")).to_have_text(account)
        expect(page.locator(".why .rule")).not_to_be_empty()
        assert page.locator("table.list").first.locator("tbody tr").count() >= 1
        _shot(page, tmp_path, "account")

        # open its campaign: a group graph, evidence per link kind, timelines
        page.locator(f".crumbs a:text('campaign {campaign}')").click()
        expect(page.locator("h1")).to_contain_text(f"Campaign {campaign}")
        groups = page.locator("svg.ggraph a.node-group")
        assert groups.count() >= 1
        _shot(page, tmp_path, "campaign")
        groups.first.click()  # expand a group into its accounts
        expect(page.locator("svg.ggraph a.node-account").first).to_be_visible()
        _shot(page, tmp_path, "campaign-expanded")

        # dismiss the account from its own page, with a note
        page.goto(server.url + f"/account/{account}")
        page.fill("form.decide input[name=note]", "known research customer")
        page.click("form.decide button[value=dismiss]")
        expect(page.locator("#queue")).to_be_visible()  # redirected to the queue
        expect(page.locator(f"#queue a.acc:text-is('{account}')")).to_have_count(0)
        page.goto(server.url + "/audit")
        expect(page.locator("table.list tbody")).to_contain_text("known research customer")
        _shot(page, tmp_path, "audit")
        page.goto(server.url + "/shadow")
        expect(page.locator("form.shadow input[name=attack_score]")).to_be_visible()
        browser.close()

    # the next increment: new events, none about this account -> not flagged again
    next_increment(console_state, console_world)
    acc = {r["account_id"]: r for r in pq.read_table(console_state / "scan" / "accounts.parquet").to_pylist()}
    assert acc[account]["verdict"] == "clear"
    assert acc[account]["reasons"][0] == "dismissed_by_analyst"
    with Server(console_state) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(server.url + f"/?q={account}")
        expect(page.locator(f"#queue a.acc:text-is('{account}')")).to_have_count(0)
        page.goto(server.url + f"/?q={account}&status=dismissed&verdict=all")
        expect(page.locator(f"#queue a.acc:text-is('{account}')")).to_have_count(1)
        browser.close()
