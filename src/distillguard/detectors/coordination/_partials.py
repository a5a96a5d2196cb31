"""Cross-account partial tables, built once per input and re-aggregated per checkpoint.

Each table keeps the replay interval ``cp`` of what it counts, so "as seen before
checkpoint k" is ``WHERE cp <= k`` over a table far smaller than the events. Groups that
cannot qualify even on the whole input (a template family with fewer unrelated payers
than the fleet minimum, a datacenter IP shared by too few customers) are pruned here: the
counts only grow with time, so such a group cannot qualify at any earlier checkpoint
either, and pruning changes no result.
"""

from __future__ import annotations

from typing import Any

#: Who pays: the card, or the account itself when the card is unknown.
PAY = "coalesce(a.payment, a.account_id)"

SITES = """
CREATE OR REPLACE TEMP TABLE {src}_site_p AS
SELECT aid, ip_prefix, ip_kind, cp, count(*) AS c FROM {src}
WHERE ip_prefix IS NOT NULL GROUP BY ALL
"""

#: Template families that unrelated payers use (fleet candidates), and their partials.
#: Prompts used by a single account over the whole input are single at every checkpoint,
#: so they are kept only as counts per (family, interval) (``_phs``); prompts several
#: accounts send keep their accounts (``_phm``) for the per-checkpoint repeat statistics.
FAMILIES = f"""
CREATE OR REPLACE TEMP TABLE {{src}}_fc AS
SELECT f FROM {{src}}_af JOIN {{src}}_attr a USING (aid)
GROUP BY f HAVING count(DISTINCT {PAY}) >= {{min_payments}} AND count(DISTINCT aid) >= 2;
CREATE OR REPLACE TEMP TABLE {{src}}_afc AS SELECT * FROM {{src}}_af SEMI JOIN {{src}}_fc USING (f);
CREATE OR REPLACE TEMP TABLE {{src}}_phc AS
SELECT template_family AS f, prompt_hash AS h, aid, cp, count(*) AS c FROM {{src}} e
SEMI JOIN {{src}}_fc ON e.template_family = {{src}}_fc.f
WHERE prompt_hash IS NOT NULL GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE {{src}}_phm AS
WITH multi AS (SELECT f, h FROM {{src}}_phc GROUP BY f, h HAVING count(DISTINCT aid) >= 2)
SELECT * FROM {{src}}_phc SEMI JOIN multi USING (f, h);
CREATE OR REPLACE TEMP TABLE {{src}}_phs AS
WITH single AS (SELECT f, h FROM {{src}}_phc GROUP BY f, h HAVING count(DISTINCT aid) = 1)
SELECT f, cp, sum(c) AS c FROM {{src}}_phc SEMI JOIN single USING (f, h) GROUP BY ALL;
DROP TABLE {{src}}_phc;
CREATE OR REPLACE TEMP TABLE {{src}}_ftag AS
SELECT template_family AS f, cp, count(*) AS n, count(*) FILTER (WHERE cot OR extraction_tag) AS hn
FROM {{src}} e SEMI JOIN {{src}}_fc ON e.template_family = {{src}}_fc.f GROUP BY ALL
"""

#: Template families per account on shared cards (payment cohesion).
COHESION = """
CREATE OR REPLACE TEMP TABLE {src}_coh_p AS
WITH big AS (SELECT payment FROM {src}_attr WHERE payment IS NOT NULL
             GROUP BY payment HAVING count(*) >= {min_accounts})
SELECT af.aid, a.payment, af.f, af.cp, af.c
FROM {src}_af af JOIN {src}_attr a USING (aid) SEMI JOIN big USING (payment)
"""

#: Exact system prompts used by several payers, with their harvest-tag counts and how many of
#: the calls left a VPN or Tor exit (``an``).
SYSTEM = f"""
CREATE OR REPLACE TEMP TABLE {{src}}_sys AS
WITH s AS (
  SELECT aid, system_hash AS sh, cp, count(*) AS c, count(*) FILTER (WHERE cot OR extraction_tag) AS hn,
         count(*) FILTER (WHERE ip_kind IN ('vpn', 'tor')) AS an
  FROM {{src}} WHERE system_hash IS NOT NULL GROUP BY ALL
), keep AS (
  SELECT sh FROM s JOIN {{src}}_attr a USING (aid)
  GROUP BY sh HAVING count(DISTINCT {PAY}) >= {{min_payments}}
)
SELECT * FROM s SEMI JOIN keep USING (sh)
"""

#: Datacenter egress IPs used by several payers: (ip, account, first interval), and each
#: account's traffic, harvest-tagged traffic and traffic with prompt text through them per
#: interval (``_hiptag``). Consumer VPN and Tor exits are shared by unrelated users by design
#: (like a NAT or a relay) and are left out: sharing one says nothing about a common operator.
HOSTING_IPS = f"""
CREATE OR REPLACE TEMP TABLE {{src}}_hip AS
WITH ai AS (
  SELECT client_ip AS ip, aid, min(cp) AS cp0 FROM {{src}}
  WHERE ip_kind = 'hosting' AND client_ip IS NOT NULL GROUP BY ALL
), keep AS (
  SELECT ip FROM ai JOIN {{src}}_attr a USING (aid)
  GROUP BY ip HAVING count(DISTINCT {PAY}) >= {{min_payments}}
)
SELECT * FROM ai SEMI JOIN keep USING (ip);
CREATE OR REPLACE TEMP TABLE {{src}}_hiptag AS
SELECT client_ip AS ip, aid, cp, count(*) AS n, count(*) FILTER (WHERE cot OR extraction_tag) AS hn,
       count(template_family) AS tn
FROM {{src}} e
SEMI JOIN (SELECT DISTINCT ip FROM {{src}}_hip) k ON e.client_ip = k.ip
WHERE e.ip_kind = 'hosting' GROUP BY ALL
"""

#: SynchroTrap actions (account, key, time bucket) and the pair overlaps per interval.
#: Checkpoints fall on whole hours and buckets divide the hour, so a bucket (and its cell
#: of accounts) lies inside one interval: cell sizes are final once the bucket is seen.
SYNC = """
CREATE OR REPLACE TEMP TABLE {src}_act AS
SELECT aid, {key} AS key, t // ({bucket_s} * 1000) AS b, min(cp) AS cp FROM {src} GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE {src}_na AS SELECT aid, cp, count(*) AS n FROM {src}_act GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE {src}_nb AS
SELECT key, cp, count(*) AS n FROM (SELECT key, b, min(cp) AS cp FROM {src}_act GROUP BY key, b) GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE {src}_pairs AS
WITH cell AS (SELECT key, b, count(*) AS c FROM {src}_act GROUP BY key, b),
elig AS (SELECT aid FROM {src}_na GROUP BY aid HAVING sum(n) >= {min_actions}),
a2 AS (
  SELECT act.* FROM {src}_act act JOIN cell USING (key, b) SEMI JOIN elig USING (aid)
  WHERE cell.c BETWEEN 2 AND {max_cell}
), p AS (
  SELECT x.aid AS src, y.aid AS dst, x.key, x.cp, count(*) AS shared
  FROM a2 x JOIN a2 y ON x.key = y.key AND x.b = y.b AND x.aid < y.aid GROUP BY ALL
), keep AS (SELECT src, dst FROM p GROUP BY ALL HAVING sum(shared) >= {min_shared})
SELECT * FROM p SEMI JOIN keep USING (src, dst);
CREATE OR REPLACE TEMP TABLE {src}_nk AS
WITH used AS (
  SELECT DISTINCT src AS aid, key FROM {src}_pairs UNION SELECT DISTINCT dst, key FROM {src}_pairs
)
SELECT aid, key, cp, count(*) AS n FROM {src}_act SEMI JOIN used USING (aid, key) GROUP BY ALL
"""


def ensure(ctx: Any, name: str, sql: str, **fmt: Any) -> None:
    """Build partial tables ``name`` once per timeline (statements separated by ``;``)."""
    done = ctx.shared.setdefault("_partials", {})
    key = repr(sorted(fmt.items()))
    if done.get(name) == key:
        return
    for stmt in sql.format(src=ctx.src, **fmt).split(";"):
        if stmt.strip():
            ctx.con.execute(stmt)
    done[name] = key
