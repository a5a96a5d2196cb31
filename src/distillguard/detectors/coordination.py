"""Family 4, coordination: evidence that accounts act as one operator.

This is the strong, robust family: single-account behaviour separates poorly, but a fleet
must share something. Each hard negative shares ONE thing for a good reason (a campus NAT
shares an address and an assignment, a team shares a card, an enterprise shares cloud
egress among its own accounts); fleets share several. Hence:
  * sharing among accounts on one payment instrument is one customer, not a fleet;
  * a template family is fleet evidence only when many unrelated accounts are devoted to
    it, its prompts do not repeat across accounts (benchmarks repeat, sweeps partition the
    task set) and its users are not all behind one non-datacenter network;
  * synchronized activity counts only far beyond chance (lift over independent accounts)
    and not between accounts behind the same non-datacenter network.
The group tables are cached on the context for the campaign graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from distillguard.campaigns import _groups
from distillguard.detectors.base import DetectionContext, Detector, param, ramp, signal_rows

_SITE_SQL = """
SELECT account_id, arg_max(ip_prefix, c) AS site, arg_max(ip_kind, c) AS site_kind FROM (
  SELECT account_id, ip_prefix, ip_kind, count(*) AS c FROM {src}
  WHERE ip_prefix IS NOT NULL GROUP BY account_id, ip_prefix, ip_kind
) GROUP BY account_id ORDER BY account_id
"""


class CoordinationDetector(Detector):
    family = "coordination"
    signals = (
        "shared_system_prompt",
        "shared_payment",
        "shared_template",
        "shared_harvest_template",
        "shared_system_prompt",
        "synchronized",
        "created_together",
        "shared_infra",
    )

    @dataclass(frozen=True)
    class Params:
        payment_min_accounts: int = param(
            12, "accounts on one payment instrument that are suspicious whatever they do (teams are smaller)"
        )
        payment_full_accounts: int = param(40, "accounts on one instrument at which the signal is certain")
        cohesive_min_accounts: int = param(3, "accounts on one instrument that, working as one, are a fleet")
        cohesive_full_accounts: int = param(10, "cohesive accounts on one instrument for full strength")
        cohesion_frac: float = param(0.5, "a template used by this share of a card's accounts is common work")
        cohesion_min: float = param(
            0.6, "share of an account's prompts in its card's common templates: one job, not a team"
        )
        devoted_share: float = param(
            0.05, "share of an account's prompts in a family that makes it a user of it"
        )
        owner_max_share: float = param(
            0.2, "an account sending more than this share of a family's traffic owns it (not a fleet member)"
        )
        member_max_ratio: float = param(
            20.0,
            "an account sending this many times a family's median member volume is a heavy "
            "independent user of it (an eval harness), not one of a fleet's many small members",
        )
        fleet_min_share: float = param(0.3, "share of an account's prompts in fleet families that fires")
        fleet_min_payments: int = param(
            5, "unrelated (distinct-payment) devoted accounts that make a fleet family"
        )
        fleet_full_payments: int = param(25, "unrelated devoted accounts at which a fleet family is certain")
        fleet_min_devoted_events: float = param(0.5, "share of a family's traffic from devoted accounts")
        fleet_max_cross_dup: float = param(
            1.0,
            "max share of a family's prompts repeated across accounts (1 = off: fleets reuse public corpora)",
        )
        fleet_max_repeat: float = param(
            0.3,
            "max accounts-per-prompt / devoted accounts of a fleet family: benchmarks and class "
            "assignments send the same prompts from every account, fleets split a task set",
        )
        harvest_family_share: float = param(
            0.5,
            "share of a fleet family's prompts with harvest tags (CoT, rubric, rewrite...) that is harvest",
        )
        fleet_max_colocated: float = param(
            0.3, "max share of a family's devoted accounts behind one non-datacenter /24"
        )
        sync_bucket_s: int = param(600, "time bucket (s) of SynchroTrap actions")
        sync_max_cell: int = param(100, "(bucket, key) cells with more accounts carry no pair information")
        sync_min_actions: int = param(8, "actions an account needs before synchrony is judged")
        sync_min_shared: int = param(6, "shared (bucket, key) actions a synchronized pair needs")
        sync_min_lift: float = param(5.0, "observed/expected overlap of a synchronized pair")
        sync_min_overlap: float = param(0.5, "shared actions / the smaller account's actions")
        sync_min_partners: int = param(2, "synchronized partners an account needs to fire")
        nat_min_accounts: int = param(5, "accounts whose main non-datacenter /24 is one site make it a NAT")
        sync_full_partners: int = param(10, "synchronized partners at which the signal is certain")
        created_bucket_s: int = param(3600, "bucket (s) for account-creation bursts")
        created_min_accounts: int = param(8, "accounts created in one bucket that can be a burst")
        created_burst_factor: float = param(10.0, "burst = this many times the typical creation rate")
        infra_min_payments: int = param(3, "unrelated accounts on one datacenter IP that are shared infra")
        infra_max_accounts: int = param(5000, "larger shared IPs are public gateways, not fleet infra")

    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        acc = ctx.accounts
        index = {a: i for i, a in enumerate(acc.tolist())}
        feats = _groups.register_features(ctx.con, ctx.features, "feats")
        out = [self._payment(ctx, acc, index, feats), self._created(ctx, acc)]

        if ctx.has_prompts:
            out.extend(self._templates(ctx, acc, index, feats))
            out.append(self._system_prompts(ctx, acc, index, feats))
        out.append(self._sync(ctx, acc, index))
        out.append(self._infra(ctx, acc, index, feats))
        return out

    def _templates(
        self, ctx: DetectionContext, acc: np.ndarray, index: dict[str, int], feats: str
    ) -> list[pa.Table]:
        p = self.params
        sites = pa.table(
            {
                "account_id": pa.array(acc.tolist(), pa.string()),
                "site": pa.array(self._sites(ctx, acc).tolist(), pa.string()),
            }
        )
        ctx.con.register("acct_sites", sites)
        fams = _groups.run(
            ctx.con,
            _groups.FAMILY_SQL,
            src=ctx.src,
            feats=feats,
            sites="acct_sites",
            devoted_share=p.devoted_share,
        )
        fleet = fams.filter(self._fleet_mask(fams))
        ctx.con.register("fleet_fams", fleet)
        fmt = {
            "src": ctx.src,
            "fleet": "fleet_fams",
            "owner_max_share": p.owner_max_share,
            "devoted_share": p.devoted_share,
            "member_max_ratio": p.member_max_ratio,
        }
        per = _groups.run(ctx.con, _groups.ACCOUNT_FLEET_SQL, **fmt)
        ctx.cache["fleet_families"] = fleet
        ctx.cache["account_families"] = _groups.run(ctx.con, _groups.ACCOUNT_FLEET_PAIRS_SQL, **fmt)
        share = np.zeros(len(acc))
        pays = np.zeros(len(acc))
        harvest = np.zeros(len(acc))
        idx = np.array([index[a] for a in per["account_id"].to_pylist()], dtype=np.int64)
        if len(idx):
            share[idx] = per["fleet_share"].to_numpy(zero_copy_only=False)
            pays[idx] = per["fleet_payments"].to_numpy(zero_copy_only=False)
            harvest[idx] = per["fleet_harvest_share"].fill_null(0.0).to_numpy(zero_copy_only=False)
        strength = np.where(
            share >= p.fleet_min_share, ramp(pays, p.fleet_min_payments, p.fleet_full_payments), 0.0
        )
        is_harvest = harvest >= p.harvest_family_share
        evidence = (
            "{:.0%} of prompts in template families dominated by {:.0f} unrelated accounts",
            [share, pays],
        )
        return [
            signal_rows(
                acc,
                self.family,
                "shared_template",
                np.where(is_harvest, 0.0, strength),
                pays,
                p.fleet_min_payments,
                evidence,
            ),
            signal_rows(
                acc,
                self.family,
                "shared_harvest_template",
                np.where(is_harvest, strength, 0.0),
                pays,
                p.fleet_min_payments,
                evidence,
            ),
        ]

    def _system_prompts(
        self, ctx: DetectionContext, acc: np.ndarray, index: dict[str, int], feats: str
    ) -> pa.Table:
        p = self.params
        rows = _groups.run(
            ctx.con,
            _groups.SYSTEM_PROMPT_SQL,
            src=ctx.src,
            feats=feats,
            devoted_share=p.devoted_share,
            harvest_share=p.harvest_family_share,
            min_payments=p.infra_min_payments,
        )
        pays = np.zeros(len(acc))
        idx = np.array([index[a] for a in rows["account_id"].to_pylist()], dtype=np.int64)
        if len(idx):
            pays[idx] = rows["payments"].to_numpy(zero_copy_only=False)
        return signal_rows(
            acc,
            self.family,
            "shared_system_prompt",
            ramp(pays, p.infra_min_payments, 4 * p.infra_min_payments),
            pays,
            p.infra_min_payments,
            ("harvest system prompt shared with {:.0f} unrelated customers", [pays]),
        )

    def _fleet_mask(self, fams: pa.Table) -> pa.Array:
        import pyarrow.compute as pc

        p = self.params
        return pc.and_(
            pc.and_(
                pc.greater_equal(fams["devoted_payments"], p.fleet_min_payments),
                pc.greater_equal(fams["devoted_event_share"], p.fleet_min_devoted_events),
            ),
            pc.and_(
                pc.and_(
                    pc.less_equal(fams["cross_dup_share"], p.fleet_max_cross_dup),
                    pc.less_equal(fams["repeat_ratio"], p.fleet_max_repeat),
                ),
                pc.less_equal(fams["colocated_share"], p.fleet_max_colocated),
            ),
        )

    def _payment(self, ctx: DetectionContext, acc: np.ndarray, index: dict[str, int], feats: str) -> pa.Table:
        """Shared card: suspicious when very large, or when its accounts all run one job."""
        p = self.params
        pay = ctx.col("payment")
        known = np.array([v is not None for v in pay.tolist()], dtype=bool)
        keys = np.where(known, pay, "").astype(str)
        _, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
        size = np.where(known, counts[inv], 1).astype(float)
        ctx.cache["payment_size"] = size
        strength = ramp(size, p.payment_min_accounts, p.payment_full_accounts)
        cohesion = np.zeros(len(acc))
        if ctx.has_prompts:
            coh = _groups.run(
                ctx.con,
                _groups.PAYMENT_COHESION_SQL,
                src=ctx.src,
                feats=feats,
                min_accounts=p.cohesive_min_accounts,
                cohesion_frac=p.cohesion_frac,
            )
            idx = np.array([index[a] for a in coh["account_id"].to_pylist()], dtype=np.int64)
            if len(idx):
                cohesion[idx] = coh["cohesion"].to_numpy(zero_copy_only=False)
            cohesive = cohesion >= p.cohesion_min
            strength = np.maximum(
                strength,
                np.where(cohesive, ramp(size, p.cohesive_min_accounts, p.cohesive_full_accounts), 0.0),
            )
        return signal_rows(
            acc,
            self.family,
            "shared_payment",
            strength,
            size,
            p.payment_min_accounts,
            (
                "payment instrument shared by {:.0f} accounts ({:.0%} of prompts in their common templates)",
                [size, cohesion],
            ),
        )

    def _created(self, ctx: DetectionContext, acc: np.ndarray) -> pa.Table:
        p = self.params
        created = ctx.features.column("created_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
        created = np.asarray(created, dtype=np.float64)  # microseconds, NaN if unknown
        known = np.isfinite(created)
        size = np.ones(len(acc))
        threshold = float(p.created_min_accounts)
        colocated = np.zeros(len(acc), dtype=bool)
        if known.sum() >= 2:
            bucket = np.floor(created[known] / (p.created_bucket_s * 1e6)).astype(np.int64)
            uniq, inv, counts = np.unique(bucket, return_inverse=True, return_counts=True)
            span = max(int(uniq.max() - uniq.min()) + 1, 1)
            # typical rate: the mean of buckets after dropping the top 1% (bursts) of busy ones
            trimmed = np.sort(counts)[: max(1, int(np.ceil(len(counts) * 0.99)))]
            rate = float(trimmed.sum()) / span
            threshold = max(float(p.created_min_accounts), p.created_burst_factor * rate)
            size[known] = counts[inv]
            # NAT-aware: a class signing up together behind one campus address is no fleet
            site = self._sites(ctx, acc)[known]
            keyed = np.char.add(bucket.astype(str), np.char.add("|", site.astype(str)))
            _, kinv, kcounts = np.unique(keyed, return_inverse=True, return_counts=True)
            same_site = np.where(site != None, kcounts[kinv], 0)  # noqa: E711
            colocated[known] = same_site >= p.fleet_max_colocated * counts[inv]
        size = np.where(colocated, 1.0, size)
        ctx.cache["created_threshold"] = threshold
        ctx.cache["created_bucket_s"] = p.created_bucket_s
        return signal_rows(
            acc,
            self.family,
            "created_together",
            ramp(size, threshold, 3 * threshold),
            size,
            threshold,
            ("created with {:.0f} other accounts in one burst", [size - 1]),
        )

    def _sync(self, ctx: DetectionContext, acc: np.ndarray, index: dict[str, int]) -> pa.Table:
        import pyarrow.compute as pc

        p = self.params
        pairs = _groups.run(
            ctx.con,
            _groups.SYNC_SQL,
            src=ctx.src,
            key="coalesce(template_family, hash(model))",
            bucket_s=p.sync_bucket_s,
            max_cell=p.sync_max_cell,
            min_actions=p.sync_min_actions,
            min_shared=p.sync_min_shared,
        )
        pairs = pairs.filter(
            pc.and_(
                pc.greater_equal(pairs["lift"], p.sync_min_lift),
                pc.greater_equal(pairs["overlap"], p.sync_min_overlap),
            )
        )
        sites = self._sites(ctx, acc)
        site_of = dict(zip(acc.tolist(), sites.tolist(), strict=True))
        known = sites[sites != None]  # noqa: E711
        names, counts = np.unique(known.astype(str), return_counts=True) if len(known) else ([], [])
        nat = {n for n, c in zip(list(names), list(counts), strict=True) if c >= p.nat_min_accounts}
        src_l, dst_l = pairs["src"].to_pylist(), pairs["dst"].to_pylist()
        # NAT-aware: a pair behind one site, or both behind busy shared sites (campus NATs), is
        # explained by where they sit, not by a common operator
        keep = [
            not (
                site_of.get(s) is not None
                and (site_of.get(s) == site_of.get(d) or (site_of.get(s) in nat and site_of.get(d) in nat))
            )
            for s, d in zip(src_l, dst_l, strict=True)
        ]
        pairs = pairs.filter(pa.array(keep, pa.bool_()))
        ctx.cache["sync_pairs"] = pairs
        partners = np.zeros(len(acc))
        for a in pairs["src"].to_pylist() + pairs["dst"].to_pylist():
            partners[index[a]] += 1
        return signal_rows(
            acc,
            self.family,
            "synchronized",
            ramp(partners, p.sync_min_partners, p.sync_full_partners),
            partners,
            p.sync_min_partners,
            ("active in lockstep with {:.0f} accounts far beyond chance", [partners]),
        )

    def _sites(self, ctx: DetectionContext, acc: np.ndarray) -> np.ndarray:
        """Each account's main non-datacenter network (/24), or None (datacenter / unknown)."""
        if "sites" not in ctx.cache:
            site = ctx.con.sql(_SITE_SQL.format(src=ctx.src)).to_arrow_table()
            of = {
                a: (s if k not in ("hosting", "vpn", "tor") else None)
                for a, s, k in zip(
                    *(site[c].to_pylist() for c in ("account_id", "site", "site_kind")), strict=True
                )
            }
            ctx.cache["sites"] = np.array([of.get(a) for a in acc.tolist()], dtype=object)
        return ctx.cache["sites"]

    def _infra(self, ctx: DetectionContext, acc: np.ndarray, index: dict[str, int], feats: str) -> pa.Table:
        p = self.params
        ips = _groups.run(
            ctx.con,
            _groups.HOSTING_IP_SQL,
            src=ctx.src,
            feats=feats,
            min_payments=p.infra_min_payments,
            max_accounts=p.infra_max_accounts,
        )
        ctx.cache["hosting_ips"] = ips
        best = np.zeros(len(acc))
        for a, n in zip(ips["account_id"].to_pylist(), ips["payments"].to_pylist(), strict=True):
            i = index[a]
            best[i] = max(best[i], n)
        return signal_rows(
            acc,
            self.family,
            "shared_infra",
            ramp(best, p.infra_min_payments, 4 * p.infra_min_payments),
            best,
            p.infra_min_payments,
            ("datacenter egress IP shared with {:.0f} unrelated customers", [best]),
        )
