"""Cross-account groups: which accounts share what (DuckDB SQL over the event view).

Both the coordination detector (per-account strength) and the campaign graph (edges) read
these groups, so they are computed once per run and cached on the detection context.
"Unrelated" always means a different payment instrument: accounts on one card are one
customer (a team), and what they share among themselves is no evidence of a fleet.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

#: Template families (instruction frames): who uses each, how much of their traffic it is,
#: and whether its users sit behind one non-datacenter network (a campus NAT). A fleet
#: family dominates the traffic of many unrelated accounts; a popular benign template is a
#: small part of each of its users' traffic.
FAMILY_SQL = """
WITH af AS (
  SELECT account_id, template_family AS fam, count(*) AS c
  FROM {src} WHERE template_family IS NOT NULL GROUP BY account_id, template_family
), tot AS (SELECT account_id, sum(c) AS t FROM af GROUP BY account_id),
dev AS (
  SELECT af.account_id, af.fam, af.c, af.c / tot.t AS acc_share, coalesce(f.payment, af.account_id) AS pay,
         s.site
  FROM af JOIN tot USING (account_id) JOIN {feats} f USING (account_id) LEFT JOIN {sites} s USING (account_id)
), ph AS (
  SELECT template_family AS fam, prompt_hash, count(DISTINCT account_id) AS pa, count(*) AS c
  FROM {src} WHERE template_family IS NOT NULL AND prompt_hash IS NOT NULL
  GROUP BY template_family, prompt_hash
), dup AS (
  SELECT fam, sum(CASE WHEN pa >= 2 THEN c ELSE 0 END) / sum(c) AS cross_dup_share,
         sum(pa * c) / sum(c) AS accounts_per_prompt
  FROM ph GROUP BY fam
), tags AS (
  SELECT template_family AS fam,
         avg(CASE WHEN cot OR extraction_tag THEN 1.0 ELSE 0.0 END) AS harvest_tag_share
  FROM {src} WHERE template_family IS NOT NULL GROUP BY template_family
), d AS (SELECT * FROM dev WHERE acc_share >= {devoted_share}),
colo AS (
  SELECT fam, max(k) AS top_site_accounts FROM (
    SELECT fam, site, count(*) AS k FROM d WHERE site IS NOT NULL GROUP BY fam, site
  ) GROUP BY fam
), agg AS (
  SELECT dev.fam, count(*) AS accounts, sum(dev.c) AS events,
         count(d.account_id) AS devoted_accounts,
         count(DISTINCT d.pay) AS devoted_payments,
         coalesce(median(d.c), 1) AS member_median,
         coalesce(sum(d.c), 0) / sum(dev.c) AS devoted_event_share
  FROM dev LEFT JOIN d USING (account_id, fam) GROUP BY dev.fam
)
SELECT agg.fam, accounts, events, devoted_accounts, devoted_payments, member_median, devoted_event_share,
       coalesce(dup.cross_dup_share, 0.0) AS cross_dup_share,
       coalesce(dup.accounts_per_prompt, 1.0) / greatest(devoted_accounts, 1) AS repeat_ratio,
       coalesce(colo.top_site_accounts, 0) / greatest(devoted_accounts, 1) AS colocated_share,
       tags.harvest_tag_share
FROM agg JOIN tags USING (fam) LEFT JOIN dup USING (fam) LEFT JOIN colo USING (fam)
WHERE devoted_accounts >= 2
ORDER BY fam
"""

#: Per account: the share of its traffic in fleet families where it is one member among
#: many (its own slice of the family's traffic is at most ``owner_max_share``: a family
#: that is mostly one account's traffic is that account's own workload, not a fleet's).
ACCOUNT_FLEET_SQL = """
WITH af AS (
  SELECT account_id, template_family AS fam, count(*) AS c
  FROM {src} WHERE template_family IS NOT NULL GROUP BY account_id, template_family
), tot AS (SELECT account_id, sum(c) AS t FROM af GROUP BY account_id)
SELECT af.account_id, sum(af.c) / any_value(tot.t) AS fleet_share, max(fl.devoted_payments) AS fleet_payments,
       sum(af.c * fl.harvest_tag_share) / sum(af.c) AS fleet_harvest_share
FROM af JOIN tot USING (account_id) JOIN {fleet} fl USING (fam)
WHERE af.c <= {owner_max_share} * fl.events AND af.c <= {member_max_ratio} * fl.member_median
  AND af.c / tot.t >= {devoted_share}
GROUP BY af.account_id ORDER BY af.account_id
"""

#: The (account, fleet family) memberships behind ``ACCOUNT_FLEET_SQL`` (graph edges).
ACCOUNT_FLEET_PAIRS_SQL = """
WITH af AS (
  SELECT account_id, template_family AS fam, count(*) AS c
  FROM {src} WHERE template_family IS NOT NULL GROUP BY account_id, template_family
), tot AS (SELECT account_id, sum(c) AS t FROM af GROUP BY account_id)
SELECT af.account_id, af.fam FROM af JOIN tot USING (account_id) JOIN {fleet} fl USING (fam)
WHERE af.c <= {owner_max_share} * fl.events AND af.c <= {member_max_ratio} * fl.member_median
  AND af.c / tot.t >= {devoted_share}
ORDER BY af.fam, af.account_id
"""

#: Exact system prompts carrying harvest instructions (CoT / rubric / rewrite tags) that
#: unrelated accounts each use for a real part of their traffic: a relay operator injects
#: one such prompt into every call it forwards, whichever customer's key it uses.
SYSTEM_PROMPT_SQL = """
WITH s AS (
  SELECT account_id, system_hash, count(*) AS c,
         avg(CASE WHEN cot OR extraction_tag THEN 1.0 ELSE 0.0 END) AS h
  FROM {src} WHERE system_hash IS NOT NULL GROUP BY account_id, system_hash
), tot AS (SELECT account_id, count(*) AS t FROM {src} GROUP BY account_id),
u AS (
  SELECT s.account_id, s.system_hash, s.c, s.h, coalesce(f.payment, s.account_id) AS pay
  FROM s JOIN tot USING (account_id) JOIN {feats} f USING (account_id)
  WHERE s.c / tot.t >= {devoted_share}
), g AS (
  SELECT system_hash, count(DISTINCT pay) AS payments, sum(c * h) / sum(c) AS harvest
  FROM u GROUP BY system_hash
)
SELECT u.account_id, max(g.payments) AS payments
FROM u JOIN g USING (system_hash)
WHERE g.harvest >= {harvest_share} AND g.payments >= {min_payments}
GROUP BY u.account_id ORDER BY u.account_id
"""

#: Datacenter egress IPs shared by accounts on different payment instruments. Residential,
#: mobile, relay and campus addresses are left out on purpose: NAT makes sharing them normal.
HOSTING_IP_SQL = """
WITH ai AS (
  SELECT DISTINCT e.client_ip, e.account_id, coalesce(f.payment, e.account_id) AS pay
  FROM {src} e JOIN {feats} f USING (account_id)
  WHERE e.ip_kind IN ('hosting', 'vpn', 'tor') AND e.client_ip IS NOT NULL
), g AS (
  SELECT client_ip, count(*) AS accounts, count(DISTINCT pay) AS payments FROM ai GROUP BY client_ip
)
SELECT ai.account_id, ai.client_ip, g.accounts, g.payments
FROM ai JOIN g USING (client_ip)
WHERE g.payments >= {min_payments} AND g.accounts <= {max_accounts}
ORDER BY ai.client_ip, ai.account_id
"""

#: SynchroTrap-style synchronized actions. An action is (time bucket, key), the key being the
#: template family when prompts exist (else the model): specific keys keep cells small.
#: For every pair of accounts the
#: overlap of their action sets is compared with what independent accounts would share
#: (|A| * |B| / active buckets of the key); cells crowded by more than ``max_cell`` accounts
#: are skipped (they carry no pairwise information and would make the join quadratic).
SYNC_SQL = """
WITH act AS (
  SELECT DISTINCT account_id,
         {key} AS k,
         epoch_ms(ts) // ({bucket_s} * 1000) AS b
  FROM {src}
), cnt AS (SELECT account_id, count(*) AS na FROM act GROUP BY account_id),
keyb AS (SELECT k, count(DISTINCT b) AS nb FROM act GROUP BY k),
cell AS (SELECT k, b, count(*) AS c FROM act GROUP BY k, b),
act2 AS (
  SELECT act.* FROM act JOIN cell USING (k, b) JOIN cnt USING (account_id)
  WHERE cell.c BETWEEN 2 AND {max_cell} AND cnt.na >= {min_actions}
), pairs AS (
  SELECT a.account_id AS src, b.account_id AS dst, a.k, count(*) AS shared
  FROM act2 a JOIN act2 b ON a.k = b.k AND a.b = b.b AND a.account_id < b.account_id
  GROUP BY a.account_id, b.account_id, a.k
), perkey AS (
  SELECT account_id, k, count(*) AS nk FROM act GROUP BY account_id, k
)
SELECT p.src, p.dst, sum(p.shared) AS shared,
       sum(p.shared) / sum(greatest(pa.nk * pb.nk / keyb.nb, 1e-9)) AS lift,
       sum(p.shared) / min(least(ca.na, cb.na)) AS overlap
FROM pairs p
JOIN perkey pa ON pa.account_id = p.src AND pa.k = p.k
JOIN perkey pb ON pb.account_id = p.dst AND pb.k = p.k
JOIN keyb ON keyb.k = p.k
JOIN cnt ca ON ca.account_id = p.src
JOIN cnt cb ON cb.account_id = p.dst
GROUP BY p.src, p.dst
HAVING sum(p.shared) >= {min_shared}
ORDER BY p.src, p.dst
"""


def run(con: Any, sql: str, **fmt: Any) -> pa.Table:
    """Execute one of the group queries and return Arrow."""
    return con.sql(sql.format(**fmt)).to_arrow_table()


def register_features(con: Any, features: pa.Table, name: str = "feats") -> str:
    """Expose the feature table to SQL as ``name`` (payment, created_at, tier...)."""
    con.register(name, features)
    return name


#: Accounts sharing a payment instrument, and how much of each member's traffic goes to
#: templates that at least ``cohesion_frac`` of the card's accounts use. A team on one card
#: works on different things (low cohesion); a fleet on one card runs one job (high).
PAYMENT_COHESION_SQL = """
WITH pm AS (SELECT account_id, payment FROM {feats} WHERE payment IS NOT NULL),
gs AS (SELECT payment, count(*) AS k FROM pm GROUP BY payment HAVING count(*) >= {min_accounts}),
ef AS (
  SELECT e.account_id, pm.payment, e.template_family AS f, count(*) AS c
  FROM {src} e JOIN pm USING (account_id) JOIN gs USING (payment)
  WHERE e.template_family IS NOT NULL GROUP BY e.account_id, pm.payment, e.template_family
), fu AS (SELECT payment, f, count(DISTINCT account_id) AS u FROM ef GROUP BY payment, f)
SELECT ef.account_id,
       sum(CASE WHEN fu.u >= greatest(2, {cohesion_frac} * gs.k) THEN ef.c ELSE 0 END) / sum(ef.c) AS cohesion
FROM ef JOIN fu USING (payment, f) JOIN gs USING (payment)
GROUP BY ef.account_id ORDER BY ef.account_id
"""
