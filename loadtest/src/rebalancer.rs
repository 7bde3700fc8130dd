//! The rebalancer in a run (`--rebalancer on|off|dry-run`; on by default in
//! `--scenario rebalance`): the payer's `[rebalancer]` settings, what the run saw of its
//! channels against their bands, and the budget invariant.
//!
//! Only the payer (the first pair's) runs a rebalancer; its config file gets
//! [`RunConfig::toml`]. Before the load its pool's RRP partition is funded
//! ([`sluice_harness::fund_rrp`]) and, over the detour, the channel to the detour node
//! gets a band of its own ([`SOURCE_BAND`]: never short, over its band above 20 % local)
//! so it is the balance rebalances draw on, while the direct channel keeps the default
//! band ([`DEFAULT_BAND`]).
//!
//! While the load runs the driver reads the payer's channels every [`SAMPLE_EVERY`]:
//! with a rebalancer (on or dry-run) its `GET /v1/rebalancer`, the node's own view of
//! each channel against its band; without one, its channel list, judged here by the
//! node's rule ([`place`]) against the bands the rebalancer would have used, so an off
//! run is measured the same way as an on run. A read that fails is counted and its error
//! kept ([`Tally`]): time in band is the share of the successful reads that found the
//! channel inside its band, next to how many reads failed.
//!
//! After the load the rebalancer is halted (its kill switch) and the driver waits for a
//! rebalance still in flight, so the channel balances hold still while the books are
//! checked; the fees it paid over the run are the payer's own costs in the balance
//! check. The budget invariant ([`budget_violations`]): in every status read the fees
//! spent in the last 24 hours are within the daily cap and what is left is within both
//! the cap and what RRP holds, and the fees paid over the run are within the daily
//! budget; in dry-run nothing at all is paid.
//!
//! Everything here but [`sample`]'s clock is a pure function of what was read.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice_api_types::{
    BandView, ChannelInfo, RebalanceBudget, RebalanceTotals, RebalancerStatusResponse,
};
use sluice_harness::RrpFunding;

use crate::driver::{Attempt, Outcome};
use crate::Error;

/// How often the payer's channels are read during the load.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The default band: refilled below 20 % local, to 30 %.
pub const DEFAULT_BAND: BandView = BandView {
    min_ppm: 200_000,
    max_ppm: 800_000,
    deadband_ppm: 100_000,
};
/// The source channel's band: never short; above 20 % local its balance is spare, all
/// of it down to 20 %.
pub const SOURCE_BAND: BandView = BandView {
    min_ppm: 0,
    max_ppm: 200_000,
    deadband_ppm: 0,
};
/// How many distinct read errors (and budget violations) are kept for the report.
const KEPT: usize = 10;
/// How long after the load a rebalance in flight gets to end, beyond its own timeout.
pub const SETTLE_MARGIN: Duration = Duration::from_secs(15);

/// Whether the payer runs a rebalancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It rebalances.
    On,
    /// It runs no rebalancer (no `[rebalancer]` section).
    Off,
    /// It plans and reports but pays nothing.
    DryRun,
}

impl Mode {
    /// Whether the payer runs a rebalancer at all (on or dry-run).
    pub fn runs(self) -> bool {
        self != Mode::Off
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(name: &str) -> Result<Mode, Error> {
        match name {
            "on" => Ok(Mode::On),
            "off" => Ok(Mode::Off),
            "dry-run" => Ok(Mode::DryRun),
            other => Err(Error::Usage(format!(
                "`{other}` is not a rebalancer mode: on, off or dry-run"
            ))),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::On => "on",
            Mode::Off => "off",
            Mode::DryRun => "dry-run",
        })
    }
}

/// The payer's `[rebalancer]` settings for a run of minutes: the node's defaults
/// (`actors/src/rebalance/config.rs`) are paced for a day (a 10 s tick, 10 s between a
/// channel's attempts, up to 10 minutes after failures); a run gives it a 1 s tick and
/// cooldown, at most 30 s of backoff, and a small budget it can be seen to respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunConfig {
    /// Plan only.
    pub dry_run: bool,
    /// How often it looks at the channels, s.
    pub tick_secs: u64,
    /// The band of channels without one of their own.
    pub band: BandView,
    /// The most one rebalance pays, sat (a circular rebalance over the detour pays two
    /// forwarding fees, 2 sat).
    pub max_fee_sat: u64,
    /// And ppm of its amount.
    pub max_fee_ppm: u32,
    /// The most spent in a day, sat.
    pub daily_budget_sat: u64,
    /// A peer's channels may cost this share of what they earned, ppm.
    pub cost_to_earn_max_ppm: u32,
    /// Plus this much whatever they earned, sat (the payer forwards nothing, so this is
    /// all it may spend per peer).
    pub cost_to_earn_allowance_sat: u64,
    /// The window of earnings and spend per peer (and of the totals), s.
    pub earnings_window_secs: u64,
    /// The first attempt's amount, sat.
    pub start_sat: u64,
    /// The least an attempt moves, sat.
    pub min_sat: u64,
    /// The most an attempt moves, sat: a quarter of the detour's direct channel in
    /// `--scenario rebalance`, the share of a channel's capacity LDK's router uses for
    /// one path by default.
    pub max_sat: u64,
    /// The wait after a channel's attempt, s.
    pub cooldown_secs: u64,
    /// The longest wait after failures in a row, s.
    pub max_cooldown_secs: u64,
    /// How long one rebalance is followed, s.
    pub attempt_timeout_secs: u64,
}

impl RunConfig {
    /// The settings for `mode`, `None` when off.
    pub fn for_mode(mode: Mode) -> Option<RunConfig> {
        mode.runs().then_some(RunConfig {
            dry_run: mode == Mode::DryRun,
            tick_secs: 1,
            band: DEFAULT_BAND,
            max_fee_sat: 10,
            max_fee_ppm: 1_000,
            daily_budget_sat: 1_000,
            cost_to_earn_max_ppm: 500_000,
            cost_to_earn_allowance_sat: 1_000,
            earnings_window_secs: 86_400,
            start_sat: 100_000,
            min_sat: 10_000,
            max_sat: 500_000,
            cooldown_secs: 1,
            max_cooldown_secs: 30,
            attempt_timeout_secs: 30,
        })
    }

    /// The `[rebalancer]` section of the payer's config file.
    pub fn toml(&self) -> String {
        let b = &self.band;
        format!(
            "[rebalancer]\n\
             dry_run = {}\n\
             tick_secs = {}\n\
             band = {{ min_ppm = {}, max_ppm = {}, deadband_ppm = {} }}\n\
             max_fee_sat = {}\n\
             max_fee_ppm = {}\n\
             daily_budget_sat = {}\n\
             cost_to_earn_max_ppm = {}\n\
             cost_to_earn_allowance_sat = {}\n\
             earnings_window_secs = {}\n\
             start_sat = {}\n\
             min_sat = {}\n\
             max_sat = {}\n\
             cooldown_secs = {}\n\
             max_cooldown_secs = {}\n\
             attempt_timeout_secs = {}\n",
            self.dry_run,
            self.tick_secs,
            b.min_ppm,
            b.max_ppm,
            b.deadband_ppm,
            self.max_fee_sat,
            self.max_fee_ppm,
            self.daily_budget_sat,
            self.cost_to_earn_max_ppm,
            self.cost_to_earn_allowance_sat,
            self.earnings_window_secs,
            self.start_sat,
            self.min_sat,
            self.max_sat,
            self.cooldown_secs,
            self.max_cooldown_secs,
            self.attempt_timeout_secs,
        )
    }

    /// How long to wait after the load for a rebalance in flight to end.
    pub fn settle(&self) -> Duration {
        Duration::from_secs(self.attempt_timeout_secs) + SETTLE_MARGIN
    }
}

/// Where a channel stands against its band, by the node's own rule (`sluice_rebalance`),
/// with `local_msat` what it could send now.
pub fn place(band: &BandView, local_msat: u64, capacity_msat: u64) -> &'static str {
    let band = sluice_rebalance::Band {
        min_ppm: band.min_ppm,
        max_ppm: band.max_ppm,
        deadband_ppm: band.deadband_ppm,
    };
    match band.place(local_msat, capacity_msat) {
        sluice_rebalance::Place::Short(_) => "short",
        sluice_rebalance::Place::Inside => "inside",
        sluice_rebalance::Place::Over(_) => "over",
    }
}

/// One channel of the payer, as one read found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSeen {
    /// Its id.
    pub channel_id: String,
    /// Its peer's node id.
    pub peer: String,
    /// Its band.
    pub band: BandView,
    /// `short`, `inside` or `over`.
    pub place: String,
}

/// What one read of the payer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Its channels.
    pub channels: Vec<ChannelSeen>,
    /// Its rebalancer's state, when the read was its status.
    pub status: Option<StatusSeen>,
}

/// The parts of a status read the run keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSeen {
    /// Whether it runs.
    pub enabled: bool,
    /// Whether it only plans.
    pub dry_run: bool,
    /// Its totals.
    pub totals: RebalanceTotals,
    /// Its budget.
    pub budget: Option<RebalanceBudget>,
    /// Its daily budget setting, msat.
    pub daily_budget_msat: Option<u64>,
    /// The moves its plan held (in dry-run: what it would have tried).
    pub planned: usize,
}

/// A status read as an observation.
pub fn observe_status(status: &RebalancerStatusResponse) -> Observation {
    Observation {
        channels: status
            .channels
            .iter()
            .map(|c| ChannelSeen {
                channel_id: c.channel_id.clone(),
                peer: c.peer.clone(),
                band: c.band,
                place: c.place.clone(),
            })
            .collect(),
        status: Some(StatusSeen {
            enabled: status.enabled,
            dry_run: status.dry_run,
            totals: status.totals.clone(),
            budget: status.budget.clone(),
            daily_budget_msat: status.settings.as_ref().map(|s| s.daily_budget_msat),
            planned: status.plan.len(),
        }),
    }
}

/// A channel list as an observation: each channel judged against `bands`' band for it
/// (the channels a node lists are the node's own).
pub fn observe_channels(channels: &[ChannelInfo], bands: &Bands) -> Observation {
    Observation {
        channels: channels
            .iter()
            .map(|c| {
                let band = bands.of(&c.channel_id);
                ChannelSeen {
                    channel_id: c.channel_id.clone(),
                    peer: c.counterparty_node_id.clone(),
                    band,
                    place: place(
                        &band,
                        c.outbound_capacity_msat,
                        c.capacity_sat.saturating_mul(1000),
                    )
                    .to_owned(),
                }
            })
            .collect(),
        status: None,
    }
}

/// The bands the run gives the payer's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bands {
    /// The band of channels without one of their own.
    pub default: BandView,
    /// Channels with a band of their own: (channel id, band).
    pub own: Vec<(String, BandView)>,
}

impl Bands {
    /// The band of channel `channel_id`.
    pub fn of(&self, channel_id: &str) -> BandView {
        self.own
            .iter()
            .find(|(id, _)| id == channel_id)
            .map_or(self.default, |(_, band)| *band)
    }
}

/// One channel over the run's reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelTally {
    /// Its peer's node id.
    pub peer: String,
    /// Its band at the last read that found it.
    pub band: Option<BandView>,
    /// Reads that found it inside its band.
    pub inside: u64,
    /// Reads that found it short of it.
    pub short: u64,
    /// Reads that found it over it.
    pub over: u64,
    /// Successful reads that did not list it.
    pub absent: u64,
}

/// What the reads of a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Reads tried.
    pub reads: u64,
    /// Reads that failed.
    pub failed: u64,
    /// The failed reads' errors, with how often each came (the first [`KEPT`] kinds).
    pub errors: BTreeMap<String, u64>,
    /// Every channel seen, by id.
    pub channels: BTreeMap<String, ChannelTally>,
    /// The first status read.
    pub first: Option<StatusSeen>,
    /// The last status read.
    pub last: Option<StatusSeen>,
    /// The most spent in 24 hours any status read showed, msat.
    pub max_spent_24h_msat: Option<u64>,
    /// Status reads whose budget broke the invariant, described (the first [`KEPT`]).
    pub violations: Vec<String>,
    /// How many status reads broke it.
    pub violating_reads: u64,
    /// Status reads whose plan held a move.
    pub planning_reads: u64,
}

impl Tally {
    /// Counts one read.
    pub fn record(&mut self, read: Result<Observation, String>) {
        self.reads += 1;
        let seen = match read {
            Ok(seen) => seen,
            Err(error) => {
                self.failed += 1;
                if let Some(count) = self.errors.get_mut(&error) {
                    *count += 1;
                } else if self.errors.len() < KEPT {
                    self.errors.insert(error, 1);
                } else {
                    *self.errors.entry("(other errors)".into()).or_insert(0) += 1;
                }
                return;
            }
        };
        let listed: Vec<&str> = seen
            .channels
            .iter()
            .map(|c| c.channel_id.as_str())
            .collect();
        for (id, channel) in &mut self.channels {
            if !listed.contains(&id.as_str()) {
                channel.absent += 1;
            }
        }
        let earlier = self.reads - self.failed - 1;
        for c in &seen.channels {
            let tally = self
                .channels
                .entry(c.channel_id.clone())
                .or_insert_with(|| ChannelTally {
                    // Absent from every successful read before this one.
                    absent: earlier,
                    ..ChannelTally::default()
                });
            tally.peer = c.peer.clone();
            tally.band = Some(c.band);
            match c.place.as_str() {
                "short" => tally.short += 1,
                "over" => tally.over += 1,
                _ => tally.inside += 1,
            }
        }
        if let Some(status) = seen.status {
            let problems = budget_problems(&status);
            if !problems.is_empty() {
                self.violating_reads += 1;
                let room = KEPT.saturating_sub(self.violations.len());
                self.violations.extend(problems.into_iter().take(room));
            }
            if status.planned > 0 {
                self.planning_reads += 1;
            }
            if let Some(budget) = &status.budget {
                let max = self.max_spent_24h_msat.unwrap_or(0);
                self.max_spent_24h_msat = Some(max.max(budget.spent_24h_msat));
            }
            if self.first.is_none() {
                self.first = Some(status.clone());
            }
            self.last = Some(status);
        }
    }

    /// Successful reads.
    pub fn succeeded(&self) -> u64 {
        self.reads - self.failed
    }
}

/// What a status read's budget breaks of the invariant: spent within the daily cap (and
/// the daily budget setting), left within the cap less spent and within what RRP holds.
pub fn budget_problems(status: &StatusSeen) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(b) = &status.budget else {
        return problems;
    };
    if b.spent_24h_msat > b.daily_msat {
        problems.push(format!(
            "spent {} msat in 24 h, over the daily cap of {} msat",
            b.spent_24h_msat, b.daily_msat
        ));
    }
    if let Some(daily) = status.daily_budget_msat {
        if b.spent_24h_msat > daily {
            problems.push(format!(
                "spent {} msat in 24 h, over the daily budget setting of {daily} msat",
                b.spent_24h_msat
            ));
        }
    }
    if b.left_msat > b.daily_msat.saturating_sub(b.spent_24h_msat) {
        problems.push(format!(
            "{} msat left, more than the daily cap of {} msat less the {} msat spent",
            b.left_msat, b.daily_msat, b.spent_24h_msat
        ));
    }
    if b.left_msat > b.rrp_available_msat {
        problems.push(format!(
            "{} msat left, more than the {} msat RRP holds",
            b.left_msat, b.rrp_available_msat
        ));
    }
    problems
}

/// `after` less `before`, field by field: what the rebalancer did in between (its totals
/// are over a rolling window of a day, so over a run of minutes they only grow).
pub fn totals_between(before: &RebalanceTotals, after: &RebalanceTotals) -> RebalanceTotals {
    RebalanceTotals {
        attempts: after.attempts.saturating_sub(before.attempts),
        succeeded: after.succeeded.saturating_sub(before.succeeded),
        failed: after.failed.saturating_sub(before.failed),
        fees_paid_msat: after.fees_paid_msat.saturating_sub(before.fees_paid_msat),
        moved_msat: after.moved_msat.saturating_sub(before.moved_msat),
    }
}

/// The budget invariant over the whole run, given what it did (`run`, from before the
/// load to after it ended), the daily budget `daily_budget_msat` it ran with, and the
/// reads' own problems: fees paid within the daily budget (the run is shorter than a
/// day); in dry-run, nothing attempted and nothing paid.
pub fn budget_violations(
    mode: Mode,
    run: &RebalanceTotals,
    daily_budget_msat: u64,
    tally: &Tally,
) -> Vec<String> {
    let mut violations: Vec<String> = tally
        .violations
        .iter()
        .map(|v| format!("rebalancer budget: {v}"))
        .collect();
    if tally.violating_reads > tally.violations.len() as u64 {
        violations.push(format!(
            "rebalancer budget: {} status reads broke it in all",
            tally.violating_reads
        ));
    }
    if run.fees_paid_msat > daily_budget_msat {
        violations.push(format!(
            "rebalancer budget: it paid {} msat in fees over the run, over its daily budget \
             of {daily_budget_msat} msat",
            run.fees_paid_msat
        ));
    }
    if mode == Mode::DryRun && (run.attempts > 0 || run.fees_paid_msat > 0) {
        violations.push(format!(
            "rebalancer dry run: it made {} attempts and paid {} msat in fees",
            run.attempts, run.fees_paid_msat
        ));
    }
    violations
}

/// Reads the payer with `read` every `every` until `done`, from now: the tally.
pub fn sample(
    every: Duration,
    done: &AtomicBool,
    read: &dyn Fn() -> Result<Observation, String>,
) -> Tally {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut next = Duration::ZERO;
    while !done.load(Ordering::Relaxed) {
        let now = started.elapsed();
        if now >= next {
            tally.record(read());
            // A read slower than the interval is not made up for: reads stay `every` apart.
            next = (next + every).max(started.elapsed());
        } else {
            std::thread::sleep((next - now).min(Duration::from_millis(100)));
        }
    }
    tally
}

/// One of the payer's channels over the run, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelInBand {
    /// The channel, by its nodes (`node-0–node-1`).
    pub channel: String,
    /// Its id.
    pub channel_id: String,
    /// Its band (the last read's).
    pub band: Option<BandView>,
    /// The share of the successful reads that found it inside its band (`None`: never
    /// found).
    pub time_in_band: Option<f64>,
    /// Reads that found it inside, short of and over its band, and successful reads that
    /// did not list it.
    pub inside: u64,
    /// Short of it.
    pub short: u64,
    /// Over it.
    pub over: u64,
    /// Not listed.
    pub absent: u64,
}

/// The channels of `tally` for the report, each named by `name` of its peer.
pub fn channels_in_band(tally: &Tally, name: &dyn Fn(&str) -> String) -> Vec<ChannelInBand> {
    let mut channels: Vec<ChannelInBand> = tally
        .channels
        .iter()
        .map(|(id, c)| {
            let found = c.inside + c.short + c.over;
            ChannelInBand {
                channel: name(&c.peer),
                channel_id: id.clone(),
                band: c.band,
                time_in_band: (found > 0).then(|| c.inside as f64 / found as f64),
                inside: c.inside,
                short: c.short,
                over: c.over,
                absent: c.absent,
            }
        })
        .collect();
    channels.sort_by(|a, b| a.channel.cmp(&b.channel));
    channels
}

/// When the first payment failed and the last succeeded, seconds from the start (by
/// when they were due).
pub fn failure_onset(attempts: &[Attempt]) -> (Option<f64>, Option<f64>) {
    let due = |ok: bool| {
        attempts
            .iter()
            .filter(move |a| matches!(a.outcome, Outcome::Succeeded { .. }) == ok)
            .map(|a| a.due.as_secs_f64())
    };
    (
        due(false).min_by(f64::total_cmp),
        due(true).max_by(f64::total_cmp),
    )
}

/// The rebalancer's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebalancerReport {
    /// `on`, `off` or `dry-run`.
    pub mode: String,
    /// The node that ran it (the payer).
    pub payer: String,
    /// Where the channels' places came from.
    pub judged_by: String,
    /// The payer's `[rebalancer]` section, when it ran one.
    pub config: Option<RunConfig>,
    /// Its RRP funding, when it ran one.
    pub rrp: Option<RrpFunding>,
    /// The channel given [`SOURCE_BAND`], if any.
    pub source_channel: Option<String>,
    /// Reads of the payer tried, one every [`SAMPLE_EVERY`].
    pub reads: u64,
    /// Of them, failed.
    pub failed_reads: u64,
    /// The failed reads' errors and counts.
    pub read_errors: BTreeMap<String, u64>,
    /// The payer's channels against their bands.
    pub channels: Vec<ChannelInBand>,
    /// What the rebalancer did over the run (its totals after less before).
    pub run_totals: Option<RebalanceTotals>,
    /// Its budget after the run.
    pub budget: Option<RebalanceBudget>,
    /// The most spent in 24 hours any read showed, msat.
    pub max_spent_24h_msat: Option<u64>,
    /// Status reads whose plan held a move (in dry-run: reads where it would have
    /// rebalanced).
    pub planning_reads: u64,
    /// When the first payment failed, s into the run.
    pub first_failure_secs: Option<f64>,
    /// When the last payment that succeeded was due, s into the run.
    pub last_success_secs: Option<f64>,
    /// Anything that makes the numbers less than they seem.
    pub notes: Vec<String>,
}

/// A ppm as a percentage.
fn pct(ppm: u32) -> String {
    format!("{}%", f64::from(ppm) / 10_000.0)
}

/// An amount in sat, with its msat only when it has some.
fn sat(msat: u64) -> String {
    match msat % 1000 {
        0 => format!("{}", msat / 1000),
        part => format!("{}.{part:03}", msat / 1000),
    }
}

impl RebalancerReport {
    /// The report's section, Markdown.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "\n## Rebalancer\n\n{}'s rebalancer: {} (channels judged by {}). {} of {} reads of \
             the payer failed{}.\n",
            self.payer,
            self.mode,
            self.judged_by,
            self.failed_reads,
            self.reads,
            if self.read_errors.is_empty() {
                String::new()
            } else {
                let errors: Vec<String> = self
                    .read_errors
                    .iter()
                    .map(|(e, n)| format!("{n}× {e}"))
                    .collect();
                format!(": {}", errors.join("; "))
            }
        );
        let onset =
            |secs: Option<f64>| secs.map_or_else(|| "—".to_owned(), |s| format!("{s:.1} s"));
        md.push_str(&format!(
            "\nFirst payment failure due at {}; last success due at {}.\n",
            onset(self.first_failure_secs),
            onset(self.last_success_secs)
        ));
        md.push_str(
            "\n| channel | band (min–max, deadband) | time in band | inside / short / over / \
             absent reads |\n|---|---|---|---|\n",
        );
        for c in &self.channels {
            let band = c.band.map_or_else(
                || "—".to_owned(),
                |b| {
                    format!(
                        "{}–{}, {}",
                        pct(b.min_ppm),
                        pct(b.max_ppm),
                        pct(b.deadband_ppm)
                    )
                },
            );
            let share = c
                .time_in_band
                .map_or_else(|| "—".to_owned(), |s| format!("{:.1} %", s * 100.0));
            let source = if self.source_channel.as_deref() == Some(c.channel.as_str()) {
                " (source)"
            } else {
                ""
            };
            md.push_str(&format!(
                "| {}{source} | {band} | {share} | {} / {} / {} / {} |\n",
                c.channel, c.inside, c.short, c.over, c.absent
            ));
        }
        if let Some(source) = &self.source_channel {
            md.push_str(&format!(
                "\n{source} is the source: its band counts it over while it has balance to \
                 spare for the others, so its time in band is no goal.\n"
            ));
        }
        if self.mode != Mode::Off.to_string() {
            md.push_str(&format!(
                "\n{} of the reads found a move in its plan{}.\n",
                self.planning_reads,
                if self.mode == Mode::DryRun.to_string() {
                    " (what a dry run would have tried)"
                } else {
                    ""
                }
            ));
        }
        if let Some(t) = &self.run_totals {
            md.push_str(&format!(
                "\nOver the run: {} rebalances tried, {} succeeded, {} failed; {} sat paid in \
                 fees, {} sat moved.\n",
                t.attempts,
                t.succeeded,
                t.failed,
                sat(t.fees_paid_msat),
                sat(t.moved_msat)
            ));
        }
        if let Some(b) = &self.budget {
            md.push_str(&format!(
                "Budget after the run: daily {} sat, spent in 24 h {} sat (at most {} sat in \
                 any read), left {} sat; RRP holds {} sat.\n",
                sat(b.daily_msat),
                sat(b.spent_24h_msat),
                sat(self.max_spent_24h_msat.unwrap_or(b.spent_24h_msat)),
                sat(b.left_msat),
                sat(b.rrp_available_msat)
            ));
        }
        if let Some(r) = &self.rrp {
            md.push_str(&format!(
                "RRP funded before the load: {} sat credited to pool {} for LP {} ({} \
                 coinbase(s) to deposit {}, {} blocks mined).\n",
                sat(r.credited_msat),
                r.pool_id,
                r.lp_id,
                r.coinbases,
                r.deposit_id,
                r.blocks
            ));
        }
        for note in &self.notes {
            md.push_str(&format!("\nNote: {note}\n"));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(places: &[(&str, &str)]) -> Observation {
        Observation {
            channels: places
                .iter()
                .map(|(id, place)| ChannelSeen {
                    channel_id: (*id).into(),
                    peer: format!("peer-{id}"),
                    band: DEFAULT_BAND,
                    place: (*place).into(),
                })
                .collect(),
            status: None,
        }
    }

    fn status(spent: u64, left: u64, rrp: u64) -> StatusSeen {
        StatusSeen {
            enabled: true,
            dry_run: false,
            totals: RebalanceTotals::default(),
            budget: Some(RebalanceBudget {
                daily_msat: 1_000_000,
                rrp_available_msat: rrp,
                spent_24h_msat: spent,
                left_msat: left,
            }),
            daily_budget_msat: Some(1_000_000),
            planned: 0,
        }
    }

    #[test]
    fn places_follow_the_nodes_band_rule() {
        let cap = 2_000_000_000;
        assert_eq!(place(&DEFAULT_BAND, 399_999_999, cap), "short");
        assert_eq!(place(&DEFAULT_BAND, 400_000_000, cap), "inside");
        assert_eq!(place(&DEFAULT_BAND, 1_600_000_000, cap), "inside");
        assert_eq!(place(&DEFAULT_BAND, 1_600_000_001, cap), "over");
        // The source's band: never short, spare above 20 %.
        assert_eq!(place(&SOURCE_BAND, 0, cap), "inside");
        assert_eq!(place(&SOURCE_BAND, 400_000_001, cap), "over");
        assert_eq!(place(&DEFAULT_BAND, u64::MAX, u64::MAX), "over");
    }

    #[test]
    fn time_in_band_counts_successful_reads_and_reports_failed_ones() {
        let mut tally = Tally::default();
        tally.record(Ok(seen(&[("a", "over"), ("b", "over")])));
        tally.record(Err("GET /v1/rebalancer: refused".into()));
        tally.record(Ok(seen(&[("a", "inside"), ("b", "over")])));
        tally.record(Ok(seen(&[("a", "inside")])));
        tally.record(Ok(seen(&[("a", "short"), ("b", "over"), ("c", "inside")])));
        tally.record(Err("GET /v1/rebalancer: refused".into()));
        assert_eq!((tally.reads, tally.failed, tally.succeeded()), (6, 2, 4));
        assert_eq!(tally.errors["GET /v1/rebalancer: refused"], 2);
        let name = |peer: &str| format!("to {peer}");
        let channels = channels_in_band(&tally, &name);
        let a = &channels[0];
        assert_eq!(a.channel, "to peer-a");
        assert_eq!((a.inside, a.short, a.over, a.absent), (2, 1, 1, 0));
        assert_eq!(a.time_in_band, Some(0.5));
        let b = &channels[1];
        assert_eq!((b.inside, b.over, b.absent), (0, 3, 1));
        assert_eq!(b.time_in_band, Some(0.0));
        // First listed by the last read: absent from the three before.
        let c = &channels[2];
        assert_eq!((c.inside, c.absent), (1, 3));
        assert_eq!(c.time_in_band, Some(1.0));
    }

    #[test]
    fn errors_beyond_the_kept_kinds_are_counted_together() {
        let mut tally = Tally::default();
        for i in 0..KEPT + 3 {
            tally.record(Err(format!("error {i}")));
        }
        assert_eq!(tally.errors.len(), KEPT + 1);
        assert_eq!(tally.errors["(other errors)"], 3);
        assert_eq!(tally.failed, KEPT as u64 + 3);
        assert!(channels_in_band(&tally, &|p| p.to_owned()).is_empty());
    }

    #[test]
    fn the_budget_invariant_holds_spend_to_the_cap_and_what_rrp_holds() {
        assert!(budget_problems(&status(400_000, 600_000, 5_000_000)).is_empty());
        assert_eq!(budget_problems(&status(1_000_001, 0, 5_000_000)).len(), 2);
        assert_eq!(
            budget_problems(&status(400_000, 600_001, 5_000_000)).len(),
            1
        );
        assert_eq!(budget_problems(&status(0, 600_000, 500_000)).len(), 1);
        let mut tally = Tally::default();
        for spent in [0, 300_000, 1_200_000, 200_000] {
            tally.record(Ok(Observation {
                status: Some(status(spent, 0, 5_000_000)),
                ..seen(&[])
            }));
        }
        assert_eq!(tally.max_spent_24h_msat, Some(1_200_000));
        assert_eq!(tally.planning_reads, 0);
        assert_eq!(tally.violating_reads, 1);
        let run = RebalanceTotals {
            attempts: 3,
            succeeded: 2,
            failed: 1,
            fees_paid_msat: 4_000,
            moved_msat: 500_000_000,
        };
        let violations = budget_violations(Mode::On, &run, 1_000_000, &tally);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations
            .iter()
            .all(|v| v.starts_with("rebalancer budget: ")));
        let over = RebalanceTotals {
            fees_paid_msat: 1_000_001,
            ..run.clone()
        };
        let fresh = Tally::default();
        assert_eq!(
            budget_violations(Mode::On, &over, 1_000_000, &fresh).len(),
            1
        );
        // A dry run pays nothing.
        assert!(budget_violations(Mode::DryRun, &RebalanceTotals::default(), 1, &fresh).is_empty());
        assert_eq!(
            budget_violations(Mode::DryRun, &run, 1_000_000, &fresh).len(),
            1
        );
    }

    #[test]
    fn totals_over_the_run_are_after_less_before() {
        let before = RebalanceTotals {
            attempts: 2,
            succeeded: 1,
            failed: 1,
            fees_paid_msat: 2_000,
            moved_msat: 100_000_000,
        };
        let after = RebalanceTotals {
            attempts: 7,
            succeeded: 5,
            failed: 2,
            fees_paid_msat: 10_000,
            moved_msat: 900_000_000,
        };
        assert_eq!(
            totals_between(&before, &after),
            RebalanceTotals {
                attempts: 5,
                succeeded: 4,
                failed: 1,
                fees_paid_msat: 8_000,
                moved_msat: 800_000_000,
            }
        );
        // A total that fell (the window rolled) counts nothing rather than wrapping.
        assert_eq!(totals_between(&after, &before), RebalanceTotals::default());
    }

    #[test]
    fn a_channel_list_is_judged_against_the_runs_bands() {
        let channel = |id: &str, local_sat: u64| ChannelInfo {
            channel_id: id.into(),
            counterparty_node_id: format!("peer-{id}"),
            funding_txo: None,
            short_channel_id: None,
            capacity_sat: 1_000_000,
            outbound_capacity_msat: local_sat * 1000,
            inbound_capacity_msat: 0,
            next_outbound_htlc_limit_msat: 0,
            reserve_sat: None,
            confirmations: None,
            confirmations_required: None,
            is_outbound: true,
            is_ready: true,
            is_usable: true,
            is_announced: true,
            anchors: true,
        };
        let bands = Bands {
            default: DEFAULT_BAND,
            own: vec![("source".into(), SOURCE_BAND)],
        };
        let seen = observe_channels(
            &[channel("direct", 150_000), channel("source", 900_000)],
            &bands,
        );
        let places: Vec<(&str, &str, BandView)> = seen
            .channels
            .iter()
            .map(|c| (c.channel_id.as_str(), c.place.as_str(), c.band))
            .collect();
        assert_eq!(
            places,
            [
                ("direct", "short", DEFAULT_BAND),
                ("source", "over", SOURCE_BAND)
            ]
        );
        assert!(seen.status.is_none());
    }

    #[test]
    fn the_config_section_has_every_key_the_node_reads() {
        assert!(RunConfig::for_mode(Mode::Off).is_none());
        let dry = RunConfig::for_mode(Mode::DryRun).unwrap();
        assert!(dry.dry_run);
        let on = RunConfig::for_mode(Mode::On).unwrap();
        let toml = on.toml();
        assert!(
            toml.starts_with("[rebalancer]\ndry_run = false\ntick_secs = 1\n"),
            "{toml}"
        );
        assert!(
            toml.contains("band = { min_ppm = 200000, max_ppm = 800000, deadband_ppm = 100000 }\n")
        );
        for key in [
            "max_fee_sat",
            "max_fee_ppm",
            "daily_budget_sat",
            "cost_to_earn_max_ppm",
            "cost_to_earn_allowance_sat",
            "earnings_window_secs",
            "start_sat",
            "min_sat",
            "max_sat",
            "cooldown_secs",
            "max_cooldown_secs",
            "attempt_timeout_secs",
        ] {
            assert_eq!(
                toml.lines()
                    .filter(|l| l.starts_with(&format!("{key} = ")))
                    .count(),
                1,
                "{key}"
            );
        }
        // The pace the node would accept: 0 < min <= start <= max, cooldown <= its ceiling.
        assert!(0 < on.min_sat && on.min_sat <= on.start_sat && on.start_sat <= on.max_sat);
        assert!(on.cooldown_secs <= on.max_cooldown_secs);
        // The budget allows many rebalances of two forwarding fees, and the allowance per
        // peer is not tighter than the budget.
        assert!(on.daily_budget_sat >= 100 * 2);
        assert!(on.cost_to_earn_allowance_sat >= on.daily_budget_sat);
        assert_eq!("dry-run".parse::<Mode>().unwrap(), Mode::DryRun);
        assert_eq!(Mode::DryRun.to_string(), "dry-run");
        assert!(matches!("maybe".parse::<Mode>(), Err(Error::Usage(_))));
    }

    #[test]
    fn sampling_reads_until_done() {
        let done = AtomicBool::new(false);
        let reads = std::sync::atomic::AtomicU64::new(0);
        let read = || {
            if reads.fetch_add(1, Ordering::Relaxed) >= 3 {
                done.store(true, Ordering::Relaxed);
            }
            Ok(seen(&[("a", "inside")]))
        };
        let tally = sample(Duration::from_millis(5), &done, &read);
        assert_eq!(tally.reads, 4);
        assert_eq!(tally.channels["a"].inside, 4);
    }

    #[test]
    fn the_report_section_shows_time_in_band_totals_budget_and_failed_reads() {
        let mut tally = Tally::default();
        tally.record(Ok(seen(&[("d", "short"), ("s", "over")])));
        tally.record(Ok(seen(&[("d", "inside"), ("s", "over")])));
        tally.record(Err("HTTP GET /v1/rebalancer: connection refused".into()));
        tally.record(Ok(seen(&[("d", "inside"), ("s", "inside")])));
        let name = |peer: &str| format!("node-0–{}", peer.trim_start_matches("peer-"));
        let report = RebalancerReport {
            mode: "on".into(),
            payer: "node-0".into(),
            judged_by: "the payer's rebalancer".into(),
            config: RunConfig::for_mode(Mode::On),
            rrp: None,
            source_channel: Some("node-0–s".into()),
            reads: tally.reads,
            failed_reads: tally.failed,
            read_errors: tally.errors.clone(),
            channels: channels_in_band(&tally, &name),
            run_totals: Some(RebalanceTotals {
                attempts: 12,
                succeeded: 11,
                failed: 1,
                fees_paid_msat: 22_000,
                moved_msat: 3_000_000_000,
            }),
            budget: Some(RebalanceBudget {
                daily_msat: 1_000_000,
                rrp_available_msat: 2_500_000_000_000,
                spent_24h_msat: 22_000,
                left_msat: 978_000,
            }),
            max_spent_24h_msat: Some(22_000),
            planning_reads: 2,
            first_failure_secs: None,
            last_success_secs: Some(119.75),
            notes: vec!["a note".into()],
        };
        let md = report.markdown();
        assert!(
            md.contains(
                "1 of 4 reads of the payer failed: 1× HTTP GET /v1/rebalancer: connection refused"
            ),
            "{md}"
        );
        assert!(
            md.contains("| node-0–d | 20%–80%, 10% | 66.7 % | 2 / 1 / 0 / 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| node-0–s (source) | 20%–80%, 10% | 33.3 % | 1 / 0 / 2 / 0 |"),
            "{md}"
        );
        assert!(
            md.contains("node-0's rebalancer: on (channels judged by"),
            "{md}"
        );
        assert!(
            md.contains(
                "12 rebalances tried, 11 succeeded, 1 failed; 22 sat paid in fees, 3000000 sat \
                 moved"
            ),
            "{md}"
        );
        assert!(md.contains("daily 1000 sat, spent in 24 h 22 sat"), "{md}");
        assert_eq!(sat(1_234), "1.234");
        assert_eq!(sat(5_007), "5.007");
        assert!(
            md.contains("First payment failure due at —; last success due at 119.8 s."),
            "{md}"
        );
        assert!(md.contains("Note: a note"), "{md}");
        assert!(
            md.contains("\n2 of the reads found a move in its plan.\n"),
            "{md}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["channels"][0]["time_in_band"], 2.0 / 3.0);
        assert_eq!(json["config"]["daily_budget_sat"], 1_000);
    }

    #[test]
    fn the_first_failure_and_last_success_are_found() {
        let attempt = |secs: u64, ok: bool| Attempt {
            payer: 0,
            payee: 2,
            payment_hash: String::new(),
            due: Duration::from_secs(secs),
            latency: Duration::from_millis(100),
            outcome: if ok {
                Outcome::Succeeded { fee_msat: 1000 }
            } else {
                Outcome::Failed("route_not_found".into())
            },
        };
        let attempts = [
            attempt(1, true),
            attempt(50, false),
            attempt(3, true),
            attempt(40, false),
        ];
        assert_eq!(failure_onset(&attempts), (Some(40.0), Some(3.0)));
        assert_eq!(failure_onset(&[]), (None, None));
    }
}
