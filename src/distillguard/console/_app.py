"""The console's pages and form handlers (FastAPI, server-rendered Jinja2, no JS framework).

Why server-rendered: every page is a view of files and tables on this machine, and an
analyst's console must work offline and be auditable; a click that expands a graph group
or reveals redacted prompts is a request the server sees (and, for a reveal, logs). The
only script is ``static/console.js`` (keyboard navigation, ours, no dependency).

Imported only by :func:`distillguard.console.create_app` (FastAPI is an extra).
Forms carry a per-process token checked on every POST, so another web page open in the
analyst's browser cannot post decisions to the console (cross-site request forgery).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import Request  # module level: FastAPI resolves the handlers' string annotations here

from distillguard.console import _campaign as camp
from distillguard.console._data import VERDICT_RANK, ConsoleData, StateBusy, review_status
from distillguard.console._explain import explain, scoring_params, signal_rows
from distillguard.console._shadow import EDITABLE, SHOWN_CHANGES, Shadow, parse_changes
from distillguard.report._display import display_id
from distillguard.state import _decisions as decisions

#: Rows of the queue per page.
QUEUE_PAGE = 100
#: Seconds a reveal of redacted prompts stays valid (then the page shows them redacted again).
REVEAL_TTL_S = 600
#: Events listed on an account page (newest first).
ACCOUNT_EVENTS = 100
#: Longest note kept with a decision (characters).
NOTE_CHARS = 2000
#: Reasons shown per queue row.
QUEUE_REASONS = 3

QUEUE_SORTS = ("score", "verdict", "flagged_at", "exchanges", "campaign", "account", "status")
CAMPAIGN_SORTS = ("score", "members", "awaiting", "first_seen", "campaign")


@dataclass
class ConsoleConfig:
    state: Path
    analyst: str
    infra: list[Path] = field(default_factory=list)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def _env() -> Any:
    from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("distillguard.console", "templates"),
                PackageLoader("distillguard.report", "templates"),
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = lambda v: display_id(v)
    env.filters["q"] = lambda v: quote(str(v), safe="")
    env.filters["when"] = lambda t: "" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env


def create_app(config: ConsoleConfig) -> Any:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

    data = ConsoleData(config.state, config.infra)
    env = _env()
    static = Path(__file__).parent / "static"
    app = FastAPI(title="distillguard console", docs_url=None, redoc_url=None, openapi_url=None)

    def render(name: str, http_status: int = 200, **ctx: Any) -> HTMLResponse:
        snap = data.snapshot()
        state_meta = snap.meta.get("state", {})
        page = env.get_template(name).render(
            analyst=config.analyst,
            csrf=config.csrf,
            state_dir=str(config.state),
            state_name=config.state.resolve().name,
            increment=state_meta.get("scored_increment"),
            busy=data.busy,
            watermark=(state_meta.get("increments") or [{}])[-1].get("watermark"),
            **ctx,
        )
        return HTMLResponse(page, status_code=http_status)

    @app.exception_handler(StateBusy)
    async def _busy(request: Request, err: StateBusy) -> HTMLResponse:
        return render("message.html.j2", http_status=503, title="State busy", message=str(err))

    async def form(request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", "replace")
        fields = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if not secrets.compare_digest(fields.get("csrf", ""), config.csrf):
            raise HTTPException(403, "form token missing or wrong: reload the page")
        return fields

    @app.get("/static/{name}")
    def _static(name: str) -> Response:
        path = static / name
        if name not in {"console.css", "console.js"} or not path.is_file():
            raise HTTPException(404)
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(path.read_bytes(), media_type=kind)

    # -- queue ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def queue(
        view: str = "accounts",
        verdict: str = "flagged",
        status: str = "open",
        q: str = "",
        sort: str = "score",
        order: str = "desc",
        offset: int = 0,
    ) -> HTMLResponse:
        snap = data.snapshot()
        decided = data.decided()
        needle = q.strip().lower()
        rows = []
        flagged = [a for a, r in snap.accounts.items() if r["verdict"] != "clear" or a in decided]
        evidence = data.evidence(snap, flagged)
        for acc in flagged:
            r = snap.accounts[acc]
            st, new = review_status(decided.get(acc), r["verdict"], evidence.get(acc, []))
            rows.append({**r, "status": st, "new_evidence": new, "decision": decided.get(acc)})
        if view == "campaigns":
            return _campaign_queue(snap, rows, needle, sort, order)
        if verdict in ("attack", "suspicious", "clear"):
            rows = [r for r in rows if r["verdict"] == verdict]
        elif verdict == "flagged":
            rows = [r for r in rows if r["verdict"] != "clear"]
        if status == "open":
            rows = [r for r in rows if r["status"] in ("awaiting", "escalated")]
        elif status in ("awaiting", "escalated", "confirmed", "dismissed"):
            rows = [r for r in rows if r["status"] == status]
        if needle:
            rows = [
                r
                for r in rows
                if needle in r["account_id"].lower()
                or needle == (r["campaign_id"] or "").lower()
                or any(needle in t for t in snap.search_terms.get(r["account_id"], ()))
            ]
        key = {
            "score": lambda r: r["score"],
            "verdict": lambda r: (VERDICT_RANK.get(r["verdict"], 0), r["score"]),
            "flagged_at": lambda r: r["flagged_at"] or dt.datetime.max.replace(tzinfo=dt.UTC),
            "exchanges": lambda r: r["exchanges"] or 0,
            "campaign": lambda r: r["campaign_id"] or "~",
            "account": lambda r: r["account_id"],
            "status": lambda r: r["status"],
        }.get(sort, lambda r: r["score"])
        rows.sort(key=lambda r: r["account_id"])
        rows.sort(key=key, reverse=order == "desc")
        total = len(rows)
        offset = max(0, min(offset, max(0, total - 1)))
        return render(
            "queue.html.j2",
            title="Review queue",
            view="accounts",
            rows=rows[offset : offset + QUEUE_PAGE],
            total=total,
            offset=offset,
            page=QUEUE_PAGE,
            reasons_shown=QUEUE_REASONS,
            filters={"verdict": verdict, "status": status, "q": q, "sort": sort, "order": order},
            sorts=QUEUE_SORTS,
            link=lambda **kw: (
                "/?"
                + urlencode(
                    {**{"verdict": verdict, "status": status, "q": q, "sort": sort, "order": order}, **kw}
                )
            ),
        )

    def _campaign_queue(
        snap: Any, rows: list[dict[str, Any]], needle: str, sort: str, order: str
    ) -> HTMLResponse:
        by_acc = {r["account_id"]: r for r in rows}
        items = []
        for cid, c in snap.campaigns.items():
            members = c.get("accounts", [])
            if (
                needle
                and needle not in cid.lower()
                and not any(
                    needle in m.lower() or any(needle in t for t in snap.search_terms.get(m, ()))
                    for m in members
                )
            ):
                continue
            statuses = [by_acc[m]["status"] for m in members if m in by_acc]
            items.append(
                {
                    "campaign_id": cid,
                    "score": c.get("score", 0.0),
                    "members": len(members),
                    "attack": sum(1 for m in members if snap.accounts.get(m, {}).get("verdict") == "attack"),
                    "awaiting": sum(1 for s in statuses if s in ("awaiting", "escalated")),
                    "first_seen": c.get("first_seen"),
                    "last_seen": c.get("last_seen"),
                    "capabilities": c.get("capabilities", []),
                    "kinds": sorted({e.get("kind", "") for e in c.get("evidence", [])}),
                }
            )
        key = {
            "members": lambda r: r["members"],
            "awaiting": lambda r: r["awaiting"],
            "first_seen": lambda r: r["first_seen"] or "",
            "campaign": lambda r: r["campaign_id"],
        }.get(sort, lambda r: r["score"])
        items.sort(key=lambda r: r["campaign_id"])
        items.sort(key=key, reverse=order == "desc")
        return render(
            "campaigns.html.j2",
            title="Campaigns",
            view="campaigns",
            rows=items,
            filters={"q": needle, "sort": sort, "order": order},
            sorts=CAMPAIGN_SORTS,
            link=lambda **kw: (
                "/?" + urlencode({"view": "campaigns", "q": needle, "sort": sort, "order": order, **kw})
            ),
        )

    # -- account --------------------------------------------------------------------------
    @app.get("/account/{account_id:path}", response_class=HTMLResponse)
    def account(account_id: str, reveal: int | None = None) -> HTMLResponse:
        snap = data.snapshot()
        row = snap.accounts.get(account_id)
        if row is None:
            return render(
                "message.html.j2",
                http_status=404,
                title="Not found",
                message=f"no account {display_id(account_id)} in the last scan",
            )
        params = scoring_params(snap.meta)
        evidence = data.evidence(snap, [account_id]).get(account_id, [])
        history: list[Any] = []
        verdict_history: list[Any] = []
        revealed = False
        decision = data.decided().get(account_id)
        with contextlib.suppress(StateBusy), data.state_db() as con:
            history = con.execute(
                "SELECT decided_at, analyst, action, scope, target, note FROM decisions WHERE account_id = ?"
                " ORDER BY id DESC",
                [account_id],
            ).fetchall()
            verdict_history = con.execute(
                "SELECT c.increment_id, i.watermark, c.old_verdict, c.new_verdict, c.score, c.campaign_id"
                " FROM verdict_changes c LEFT JOIN increments i ON i.id = c.increment_id"
                " WHERE c.account_id = ? ORDER BY c.increment_id",
                [account_id],
            ).fetchall()
            revealed = _revealed(con, reveal, f"account {account_id}")
        st, new = review_status(decision, row["verdict"], evidence)
        import ibis

        events = data.query(
            lambda ev: (
                ev.filter(ev.account_id == account_id)
                .select(
                    "timestamp",
                    "model",
                    "input_tokens",
                    "output_tokens",
                    "client_ip",
                    "payment_fingerprint",
                    "user_agent",
                    "system_prompt",
                    "prompt",
                )
                .order_by(ibis.desc("timestamp"))
                .limit(ACCOUNT_EVENTS)
            )
        )
        ips = sorted({e[4] for e in events if e[4]})
        ipinfo = data.describe_ips(ips)
        timeline = camp.timelines(data, [account_id], {account_id: row["score"]})
        return render(
            "account.html.j2",
            title=f"Account {display_id(account_id)}",
            a=row,
            aid=account_id,
            signals=signal_rows(snap, account_id, params),
            why=explain(snap, account_id, params),
            params=params,
            population=snap.population,
            score_pct=snap.score_percentile(row["score"]),
            status=st,
            new_evidence=new,
            decision=decision,
            history=history,
            verdict_history=verdict_history,
            evidence=evidence,
            timeline=timeline,
            events=[
                {
                    "t": e[0],
                    "model": e[1],
                    "tokens": f"{e[2]} / {e[3]}",
                    "ip": e[4],
                    "ipinfo": camp._ip_detail(ipinfo.get(e[4], {})) if e[4] else "",
                    "card": e[5],
                    "ua": e[6],
                    "system": (camp._cut(e[7]) if revealed else camp.redact(e[7])) if e[7] else "",
                    "prompt": (camp._cut(e[8]) if revealed else camp.redact(e[8])) if e[8] else "",
                }
                for e in events
            ],
            revealed=revealed,
            reveal_ttl=REVEAL_TTL_S,
        )

    # -- campaign -------------------------------------------------------------------------
    @app.get("/campaign/{campaign_id}", response_class=HTMLResponse)
    def campaign(campaign_id: str, expand: str | None = None, reveal: int | None = None) -> HTMLResponse:
        snap = data.snapshot()
        c = snap.campaigns.get(campaign_id)
        if c is None:
            return render(
                "message.html.j2",
                http_status=404,
                title="Not found",
                message=f"no campaign {display_id(campaign_id)} in the last scan",
            )
        members = list(c.get("accounts", []))
        verdicts = {m: snap.accounts.get(m, {}).get("verdict", "clear") for m in members}
        scores = {m: float(snap.accounts.get(m, {}).get("score", 0.0)) for m in members}
        groups = camp.link_groups(members, snap.edges)
        camp.attach_values(data, groups)
        decided = data.decided()
        revealed = False
        with contextlib.suppress(StateBusy), data.state_db() as con:
            revealed = _revealed(con, reveal, f"campaign {campaign_id}")
        evidence = data.evidence(snap, members)

        def href(expand: str | None = None) -> str:
            query = {k: v for k, v in (("expand", expand), ("reveal", reveal)) if v is not None}
            return f"/campaign/{quote(campaign_id, safe='')}" + (f"?{urlencode(query)}" if query else "")

        graph = camp.group_graph(groups, verdicts, expand, href)
        rows = []
        for m in sorted(members, key=lambda a: (-scores[a], a)):
            r = snap.accounts.get(m, {"account_id": m, "verdict": "clear", "score": 0.0, "reasons": []})
            st, _ = review_status(decided.get(m), r["verdict"], evidence.get(m, []))
            rows.append({**r, "status": st})
        kinds: dict[str, list[Any]] = {}
        for g in groups:
            kinds.setdefault(g.kind, []).append(g)
        return render(
            "campaign.html.j2",
            title=f"Campaign {display_id(campaign_id)}",
            c=c,
            cid=campaign_id,
            groups=groups,
            kinds=kinds,
            graph=graph,
            expand=expand,
            ips=camp.shared_ips(data, members),
            timeline=camp.timelines(data, members, scores),
            rows=rows,
            revealed=revealed,
            reveal_ttl=REVEAL_TTL_S,
            colors=camp.EDGE_COLORS,
            href=href,
        )

    def _revealed(con: Any, audit_id: int | None, target: str) -> bool:
        if audit_id is None:
            return False
        row = con.execute(
            "SELECT logged_at FROM audit WHERE id = ? AND action = 'reveal' AND target = ?",
            [audit_id, target],
        ).fetchone()
        return bool(row) and (dt.datetime.now(dt.UTC) - row[0]).total_seconds() <= REVEAL_TTL_S

    # -- actions --------------------------------------------------------------------------
    @app.post("/decide")
    async def decide(request: Request) -> RedirectResponse:
        f = await form(request)
        action, scope, target = f.get("action", ""), f.get("scope", ""), f.get("target", "")
        if action not in decisions.ACTIONS or scope not in ("account", "campaign"):
            raise HTTPException(400, "action must be confirm, dismiss or escalate; scope account or campaign")
        snap = data.snapshot()
        if scope == "account":
            if target not in snap.accounts:
                raise HTTPException(404, "no such account in the last scan")
            accounts = [target]
        else:
            if target not in snap.campaigns:
                raise HTTPException(404, "no such campaign in the last scan")
            accounts = list(snap.campaigns[target].get("accounts", []))
        evidence = data.evidence(snap, accounts)
        info = {
            a: {
                "verdict": snap.accounts.get(a, {}).get("verdict"),
                "score": snap.accounts.get(a, {}).get("score"),
                "evidence": evidence.get(a, []),
            }
            for a in accounts
        }
        analyst = (f.get("analyst") or config.analyst).strip()[:100] or config.analyst
        with data.state_db() as con:
            decisions.record(
                con,
                analyst=analyst,
                action=action,
                scope=scope,
                target=target,
                accounts=info,
                note=f.get("note", "")[:NOTE_CHARS],
            )
        nxt = f.get("next", "/")
        return RedirectResponse(
            nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status_code=303
        )

    @app.post("/reveal")
    async def reveal_post(request: Request) -> RedirectResponse:
        f = await form(request)
        kind, target = f.get("kind", ""), f.get("target", "")
        snap = data.snapshot()
        if (kind == "campaign" and target not in snap.campaigns) or (
            kind == "account" and target not in snap.accounts
        ):
            raise HTTPException(404, "nothing to reveal")
        if kind not in ("campaign", "account"):
            raise HTTPException(400, "kind must be campaign or account")
        analyst = (f.get("analyst") or config.analyst).strip()[:100] or config.analyst
        with data.state_db() as con:
            audit_id = decisions.log(
                con,
                analyst=analyst,
                action="reveal",
                target=f"{kind} {target}",
                detail="redacted prompts shown",
                note=f.get("note", "")[:NOTE_CHARS],
            )
        query = {"reveal": audit_id}
        if f.get("expand"):
            query["expand"] = f["expand"]
        return RedirectResponse(f"/{kind}/{quote(target, safe='')}?{urlencode(query)}", status_code=303)

    shadow = Shadow(data)

    @app.get("/shadow", response_class=HTMLResponse)
    def shadow_page(job: int | None = None, error: str = "") -> HTMLResponse:
        snap = data.snapshot()
        base = scoring_params(snap.meta)
        current = shadow.jobs.get(job) if job is not None else None
        docs = snap.meta.get("thresholds", {})
        return render(
            "shadow.html.j2",
            title="Shadow mode",
            view="shadow",
            fields=[
                {"name": n, "value": getattr(base, n), "doc": docs.get(f"scoring.{n}", {}).get("doc", "")}
                for n in EDITABLE
            ],
            job=current,
            jobs=sorted(shadow.jobs.values(), key=lambda j: -j.id),
            shown=SHOWN_CHANGES,
            error=error,
        )

    @app.post("/shadow")
    async def shadow_post(request: Request) -> RedirectResponse:
        f = await form(request)
        base = scoring_params(data.snapshot().meta)
        try:
            changes = parse_changes(base, f)
        except ValueError as err:
            return RedirectResponse("/shadow?" + urlencode({"error": str(err)}), status_code=303)
        if not changes:
            return RedirectResponse(
                "/shadow?" + urlencode({"error": "no parameter changed"}), status_code=303
            )
        analyst = (f.get("analyst") or config.analyst).strip()[:100] or config.analyst
        job = shadow.start(changes, analyst, base)
        with data.state_db() as con:
            decisions.log(
                con,
                analyst=analyst,
                action="shadow",
                target="scoring parameters",
                detail=", ".join(f"{k}={v}" for k, v in changes.items()),
                note=f.get("note", "")[:NOTE_CHARS],
            )
        return RedirectResponse(f"/shadow?job={job.id}", status_code=303)

    @app.get("/audit", response_class=HTMLResponse)
    def audit() -> HTMLResponse:
        with data.state_db() as con:
            rows = decisions.audit_rows(con)
        return render("audit.html.j2", title="Audit log", rows=list(reversed(rows)))

    @app.get("/audit.csv")
    def audit_csv() -> PlainTextResponse:
        with data.state_db() as con:
            text = decisions.audit_csv(con)
        return PlainTextResponse(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="distillguard-audit.csv"'},
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.state.data = data
    app.state.shadow = shadow
    return app
