"""Family 4, coordination: evidence that accounts act as one operator.

This is the strong, robust family: single-account behaviour separates poorly, but a fleet
must share something. Each hard negative shares ONE thing for a good reason (a campus NAT
shares an address and an assignment, a team shares a card, an enterprise shares cloud
egress among its own accounts); fleets share several. Hence:
  * accounts on one payment instrument are one customer, not a fleet: a shared card is
    evidence only when its accounts all run one job (cohesion), never by its size, or when
    its accounts replace one another as each falls silent (a hydra slot, seen without text);
  * a template family is fleet evidence only when many unrelated accounts are devoted to
    it, its prompts do not repeat across accounts and its users are not all behind one
    non-datacenter network (:mod:`._content`);
  * synchronized activity counts only far beyond chance (lift over independent accounts)
    and not between accounts behind the same non-datacenter network (:mod:`._network`);
  * a group that shares one neutral thing (a framework's prompt frame, a datacenter exit, a
    schedule) is one operator only if its accounts were opened together, judged against the
    signup spread of every account seen (:mod:`._cohort`): a popular tool's users, a VPN
    exit's customers and a cron schedule's strangers sign up whenever each did; fleets are
    opened together. Harvest frames and hosts carrying harvest traffic are never excused;
  * a harvest system prompt shared by unrelated payers is a relay's injection when the
    payers are opened together, share egress, or are mostly always-on datacenter services
    (:mod:`._system`); a tool's developers call from their own machines by day.
Group tables are cached on the context for the campaign graph. Everything is computed "as
of" the context's checkpoint from partial tables built once (:mod:`._partials`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from distillguard.detectors.base import DetectionContext, Detector, param, timed


class CoordinationDetector(Detector):
    family = "coordination"
    signals = (
        "shared_payment",
        "shared_template",
        "shared_harvest_template",
        "shared_system_prompt",
        "fleet_system_prompt",
        "synchronized",
        "lockstep_timeline",
        "created_together",
        "replacement_chain",
        "shared_infra",
        "shared_unusual_profile",
        "hiding_card",
        "shaped_cohort",
        "card_lockstep",
        "card_opened_together",
        "standalone_cohort",
        "arbitrage_wave",
    )

    @dataclass(frozen=True)
    class Params:
        cohesive_min_accounts: int = param(3, "accounts on one instrument that, working as one, are a fleet")
        cohesive_full_accounts: int = param(10, "cohesive accounts on one instrument for full strength")
        cohesion_frac: float = param(0.5, "a template used by this share of a card's accounts is common work")
        cohesion_min: float = param(
            0.6, "share of an account's prompts in its card's common templates: one job, not a team"
        )
        textless_min_witnesses: int = param(
            2, "accounts with prompt text a card needs before its text-less accounts are judged by them"
        )
        textless_card_share: float = param(
            0.5,
            "share of a card's accounts with prompt text that must run one job (cohesive) for the "
            "card's text-less accounts to count as running it too",
        )
        devoted_share: float = param(
            0.05, "share of an account's prompts in a family that makes it a user of it"
        )
        owner_max_share: float = param(
            0.2, "an account sending more than this share of a family's traffic owns it (not a fleet member)"
        )
        member_max_ratio: float = param(
            5.0,
            "an account (or a customer: all accounts on one payment instrument) sending this many "
            "times a family's median member (customer) slice may be a heavy independent user of it "
            "(an eval harness, an enterprise batch job, an app wrapping its users' questions in a "
            "popular reasoning frame), not one of a fleet's many similar small members; it is one "
            "only beyond the family's own spread as well (member_fence_iqr, customer_fence_iqr)",
        )
        member_fence_iqr: float = param(
            1.5,
            "Tukey's outlier fence on the log slices of a family's member accounts (Q3 + this many "
            "IQRs) beyond which an account above member_max_ratio is a heavy independent user: "
            "fleets give their accounts uneven quotas, so a widely spread family keeps its busy members",
        )
        customer_fence_iqr: float = param(
            3.0,
            "Tukey's far-out fence on the log slices of a family's customers (all accounts on one "
            "payment instrument; Q3 + this many IQRs) beyond which a customer above member_max_ratio "
            "is a heavy independent user splitting its load over seats (an enterprise batch job on "
            "a hundred accounts); far-out, as a fleet puts several accounts on each card too",
        )
        fleet_min_share: float = param(
            0.5,
            "share of an account's prompts in fleet families that fires: a member's traffic is mostly "
            "the fleet's job, a customer who also uses a popular phrasing sends it as a minority",
        )
        fleet_member_share: float = param(
            0.5,
            "median share of its members' traffic in shared families that a fleet family needs: fleet "
            "members spend most of their traffic on the fleet's job (whatever wrappers it rotates), "
            "while users of a popular phrasing (a native-language 'explain step by step') or of public "
            "benchmark questions send it as a minority of their traffic",
        )
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
        fleet_cohort_max_spread: float = param(
            0.5,
            "max signup spread (inter-quartile range) of a fleet family's devoted accounts, as a "
            "share of the spread of every account seen: a fleet opens its accounts together, the "
            "users of a popular agent framework signed up whenever each did, like everyone else",
        )
        fleet_cohort_min_known: int = param(
            5, "known signup dates a family (and the population) needs before its spread is judged"
        )
        fleet_min_shared_egress: float = param(
            0.5,
            "share of a non-cohort family's devoted payers behind a datacenter IP shared with "
            "another of them that still makes it a fleet (an operator's own hosts)",
        )
        fleet_egress_min_payers: int = param(
            2, "devoted payers of one family behind one datacenter IP that make it shared egress"
        )
        sync_bucket_s: int = param(600, "time bucket (s) of SynchroTrap actions")
        sync_max_cell: int = param(100, "(bucket, key) cells with more accounts carry no pair information")
        sync_min_actions: int = param(8, "actions an account needs before synchrony is judged")
        sync_min_shared: int = param(6, "shared (bucket, key) actions a synchronized pair needs")
        sync_min_lift: float = param(5.0, "observed/expected overlap of a synchronized pair")
        sync_min_overlap: float = param(0.5, "shared actions / the smaller account's actions")
        sync_min_partners: int = param(2, "synchronized partners an account needs to fire")
        sync_cohort_max_spread: float = param(
            0.5,
            "max signup spread of a lockstep group (connected synchronized accounts), as a share "
            "of every account's spread: strangers on a common schedule spread like everyone",
        )
        site_min_share: float = param(
            0.2,
            "share of an account's traffic its busiest non-datacenter /24 must carry for the account "
            "to sit behind it (a campus NAT); an account hopping across a pool of VPN or proxy exits "
            "passes through each, and is behind none",
        )
        nat_min_accounts: int = param(5, "accounts whose main non-datacenter /24 is one site make it a NAT")
        sync_full_partners: int = param(10, "synchronized partners at which the signal is certain")
        lockstep_bucket_s: int = param(600, "time bucket (s) of the request timelines compared for lockstep")
        lockstep_min_requests: int = param(
            100, "requests an account needs before its timeline is compared (5 per step of the 5% grid)"
        )
        lockstep_min_buckets: int = param(
            20, "distinct buckets an account's requests must fall in to be compared"
        )
        lockstep_max_p: float = param(
            1e-12,
            "chance bound, for two independent accounts, of timelines as close as a lockstep pair's "
            "(a Brownian bridge within +-x on the 5% grid); Bonferroni-sized, as many pairs are tested",
        )
        replacement_window_h: float = param(
            2.0,
            "hours between one account's last request and another account on its card being opened "
            "(and starting) for the second to replace the first; the first must have been silent "
            "this long before the end of the input",
        )
        replacement_min_handoffs: int = param(
            2, "replacements on one card that make a replacement chain (one can be a customer's new seat)"
        )
        replacement_full_handoffs: int = param(5, "replacements on one card at which the chain is certain")
        replacement_max_card_accounts: int = param(
            1000, "larger cards are not searched for replacements (pairs grow with the square)"
        )
        created_bucket_s: int = param(3600, "bucket (s) for account-creation bursts")
        created_min_accounts: int = param(8, "accounts created in one bucket that can be a burst")
        created_burst_factor: float = param(10.0, "burst = this many times the typical creation rate")
        infra_min_payments: int = param(3, "unrelated accounts on one datacenter IP that are shared infra")
        infra_exit_min_spread: float = param(
            0.1,
            "signup spread (inter-quartile range) of a shared datacenter IP's accounts, as a share "
            "of every account's spread, above which they are strangers on one exit (a commercial "
            "VPN on a datacenter range), not an operator's fleet (fleets are opened together). "
            "Measured: fleets' own hosts sit below 0.1 unless they carry harvest traffic, while a "
            "dozen strangers on one exit landed at 0.22 of everyone's spread (0.25 banned them)",
        )
        infra_exit_max_harvest: float = param(
            0.2,
            "harvest-tagged share of a shared IP's traffic, or of a customer's own prompts (when it "
            "sent prompts through the IP), below which such strangers are on an exit: a relay "
            "forwarding harvest through its hosts for stolen keys of old accounts stays infra, a "
            "VPN customer whose exit a fleet also harvests through does not",
        )
        system_min_payments: int = param(
            3, "unrelated customers whose traffic carries one harvest system prompt (a relay's injection)"
        )
        system_link_min_payments: int = param(
            2,
            "unrelated customers whose traffic carries one harvest system prompt for the campaign "
            "stage to see it; below system_min_payments it is no signal and no graph edge: the "
            "injected-prompt lift (a relay operator whose prompt rides one hijacked key) and the "
            "campaign list's similarity read it",
        )
        system_full_payments: int = param(
            6, "unrelated customers on one harvest system prompt for full strength"
        )
        system_max_repeat: float = param(
            0.5,
            "max accounts-per-prompt / accounts of a shared harvest system prompt for it to be fleet "
            "evidence: a benchmark tool's users all send the same public questions (ratio near 1), "
            "a relay or a fleet sends distinct prompts under it",
        )
        system_cohort_max_iqr_days: float = param(
            30.0,
            "max inter-quartile range (days) of the signup dates of a harvest system prompt's "
            "accounts for them to be a cohort (fleets open their accounts together, days apart); "
            "the developers using a popular open-source tool's built-in system prompt signed up "
            "whenever each of them did, months to years apart",
        )
        system_cohort_min_known: int = param(
            5, "accounts with a known signup date a group needs before its signup spread is judged"
        )
        system_min_shared_egress: float = param(
            0.5,
            "share of a harvest system prompt's payers calling through a datacenter IP shared with "
            "other payers of it that makes a diverse group one relay (its hosts carry some of every "
            "customer's calls); a tool's users call from their own homes and VMs",
        )
        system_egress_min_payers: int = param(
            2, "payers of one system prompt behind one datacenter IP that make it shared egress"
        )
        system_min_service_share: float = param(
            0.5,
            "share of a harvest system prompt's payers running an always-on datacenter service that "
            "makes the group relays (services forwarding other people's traffic under one injected "
            "harvest prompt), or running one or calling through a datacenter IP other payers of the "
            "prompt use (keys a relay forwards through its hosts); a tool's developers call from "
            "their own machines by day",
        )
        system_min_hidden_payers: float = param(
            0.5,
            "share of a harvest system prompt's payers calling under it mostly through VPN or Tor "
            "exits that makes the group a fleet hiding its origin (bought aged accounts); a tool's "
            "user base calls from homes, offices and its own cloud machines",
        )
        system_hidden_min_traffic: float = param(
            0.5, "share of an account's calls under a system prompt through VPN or Tor exits for it to hide"
        )
        system_service_min_hosting: float = param(
            0.5, "share of an account's traffic from datacenter networks for it to be a hosted service"
        )
        system_service_min_duty: float = param(
            0.6,
            "share of the hours an account has been seen in that it was active for it to be always on "
            "(a backend answers around the clock; people sleep)",
        )
        system_service_min_span_h: float = param(
            24.0, "hours an account must be seen over before its duty cycle is judged"
        )
        system_service_min_payments: int = param(
            3,
            "unrelated payers that make a group of always-on datacenter services under one harvest "
            "system prompt a relay fleet (ordinary accounts need fleet_min_payments)",
        )
        infra_max_accounts: int = param(5000, "larger shared IPs are public gateways, not fleet infra")
        profile_min_requests: int = param(
            20, "requests (with a known local clock) before a profile is judged"
        )
        profile_minority_share: float = param(
            0.5, "share of traffic on minority (older) models of the profile"
        )
        profile_min_payments: int = param(10, "unrelated payers on minority models before they are a group")
        profile_group_night: float = param(
            0.3,
            "mean share of the group's requests in their billing countries' night (local 23-07) that "
            "is an operator's schedule: customers of many countries follow their own days",
        )
        profile_flat_night: float = param(
            8 / 24,
            "share of a flat, round-the-clock schedule that falls in the night window (local 23-07 = "
            "8 of 24 hours): always-on services (app backends) sit there whatever their customers",
        )
        profile_flat_lift: float = param(
            1.1,
            "the group's night share must exceed the flat schedule's share by this factor: an "
            "operator's office hours elsewhere skew the clock, an always-on service does not",
        )
        profile_night_lift: float = param(
            2.0, "the group's night share must also be this many times the rest of the population's median"
        )
        profile_min_input_h: float = param(
            24.0,
            "hours the input must span before a group's night clock is judged (as off_hours_min_input_h)",
        )
        profile_full_lift: float = param(
            3.5, "group night share / the population's median at which the profile is certain"
        )

        # metadata-only group tests (:mod:`._meta_fleet`): base rates from the scan's own population
        hide_min_requests: int = param(8, "requests an account needs before its egress rotation is judged")
        hide_min_networks: int = param(
            5, "distinct networks (/24, or ASNs when known) an account hops across to hide its origin"
        )
        hide_ips_per_request: float = param(
            0.3, "distinct IPs per request of an account that hides its origin"
        )
        hide_relay_exempt_share: float = param(
            0.5, "accounts with this share of relay egress (iCloud Private Relay) never count as hiding"
        )
        hide_min_card_accounts: int = param(3, "accounts on a card before its hiding accounts are judged")
        hide_min_accounts: int = param(3, "busy accounts on one card that hide their origin, at least")
        hide_min_share: float = param(0.5, "share of a card's busy accounts that must hide their origin")
        hide_max_chance: float = param(
            1e-4,
            "binomial chance of so many of a card's busy accounts rotating, at the rotation rate of "
            "accounts alone on their card (measured on the scan), below which the card is a fleet",
        )
        hide_full_surprise: float = param(10.0, "-log10 chance at which hiding_card is certain")
        hide_base_floor: float = param(
            0.01, "floor of the measured rotation rate (a population without rotation is no proof)"
        )
        shape_min_requests: int = param(10, "requests an account needs before its token shape is judged")
        shape_quantile: float = param(
            0.9,
            "quantile of output tokens per request and of reasoning-token share, among accounts opened "
            "outside any signup burst, above which an account has a harvester's token shape",
        )
        shape_min_reference: int = param(
            50, "accounts outside signup bursts needed to set the shape quantiles (else: everyone)"
        )
        cohort_bucket_s: int = param(3600, "signup window (s) of a shaped cohort (judged in two phases)")
        cohort_min_accounts: int = param(
            5, "accounts opened in one signup window that make it busy (left out of the shape reference)"
        )
        cohort_min_shaped: int = param(
            5, "harvest-shaped payers (a customer's keys count once) a signup window needs"
        )
        cohort_min_share: float = param(0.5, "share of a window's payers that must be harvest-shaped")
        cohort_max_chance: float = param(
            1e-5,
            "binomial chance of so many harvest-shaped accounts in one window at the population's "
            "shaped rate, below which the window is one operator's cohort",
        )
        cohort_full_surprise: float = param(12.0, "-log10 chance at which shaped_cohort is certain")
        standalone_cohort_min_payers: int = param(
            10, "payers whose reasoning requests stand alone while they converse elsewhere: a cohort"
        )
        standalone_cohort_min_sites: int = param(
            5, "networks (/24) those payers must call from: one office or customer is no cohort"
        )
        standalone_cohort_habit_rate: float = param(
            0.02,
            "prior bound on the share of heavy reasoning users who split their traffic that way by "
            "independent habit (the binomial null of standalone_cohort)",
        )
        standalone_cohort_alpha: float = param(
            1e-6, "binomial chance of that many trait holders at the habit rate below which they are a cohort"
        )
        # metadata-only older-model signup wave (:mod:`._wave`): base rate from the scan's population
        wave_bucket_days: float = param(
            7.0, "signup window (days) of an older-model wave (judged in two phases)"
        )
        wave_max_age_days: float = param(
            90.0,
            "only windows opened this many days or fewer before the input's first request are judged: "
            "long-standing customers kept the model current when they signed up (a cohort effect)",
        )
        wave_min_requests: int = param(
            3, "requests an account needs before its model focus is judged (fleet accounts are thin)"
        )
        wave_minority_share: float = param(
            0.5,
            "share of an account's traffic on one minority (older) model above which it focuses on "
            "it (strictly above: two of four requests is no focus)",
        )
        wave_min_payers: int = param(5, "trait-holding payers (a customer's keys count once) a window needs")
        wave_min_lift: float = param(
            3.0, "trait holders of a window as a multiple of the population's rate times its payers, at least"
        )
        wave_max_chance: float = param(
            1e-6,
            "binomial chance of so many trait holders among a window's payers at the population's rate, "
            "below which the window is one operator's signup wave",
        )
        wave_full_surprise: float = param(12.0, "-log10 chance at which arbitrage_wave is certain")
        wave_base_floor: float = param(
            0.005,
            "floor of the measured trait rate: about one customer in 200 keeps to an older model by "
            "habit (a prior bound, so a population with almost none is no proof)",
        )
        wave_filter_rounds: int = param(
            3, "fit / drop fired windows / refit rounds of the population's trait rate (anomaly filter)"
        )

    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        from distillguard.detectors import _standalone
        from distillguard.detectors.coordination import (
            _accounts,
            _content,
            _meta_fleet,
            _network,
            _profile,
            _system,
            _wave,
        )

        p = self.params
        steps: list[tuple[str, Any]] = [
            ("payment", lambda: [_accounts.payment(ctx, p)]),
            ("created", lambda: [_accounts.created(ctx, p)]),
            ("replacements", lambda: [_accounts.replacements(ctx, p)]),
        ]
        if ctx.has_prompts:
            steps += [
                ("templates", lambda: _content.templates(ctx, p)),
                ("system_prompts", lambda: _system.system_prompts(ctx, p)),
            ]
        steps += [
            ("sync", lambda: _network.sync(ctx, p)),
            ("infra", lambda: [_network.infra(ctx, p)]),
            ("profile", lambda: [_profile.profile(ctx, p)]),
            ("hiding_cards", lambda: [_meta_fleet.hiding_cards(ctx, p)]),
            ("shaped_cohorts", lambda: [_meta_fleet.shaped_cohorts(ctx, p)]),
            ("standalone_cohort", lambda: [_standalone.cohort(ctx, p, self.family)]),
            ("arbitrage_waves", lambda: [_wave.arbitrage_waves(ctx, p)]),
        ]
        out: list[pa.Table] = []
        for name, run in steps:
            with timed(ctx, f"coordination.{name}"):
                out.extend(run())
        return _meta_fleet.own_customer(ctx, p, out)
