//! Named scenarios: the settings a run starts from before its flags. `default` is what
//! `cargo run --release -p sluice-loadtest` runs; `bench-line` and `bench-star` are the
//! throughput benchmarks (the payment router at full speed over a line and a star);
//! `soak` holds `bench-line`'s load for 30 minutes and reports it in 5-minute windows
//! with the soak checks ([`crate::windows`]); `rebalance` drains the detour's direct
//! channel for the rebalancer to refill ([`crate::rebalancer`]). Every flag given on the
//! command line overrides its scenario's value.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sluice_harness::Topology;

use crate::driver::Mode;
use crate::rebalancer::Mode as Rebalancer;
use crate::Error;

/// A named starting point for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A line of 3, 8 payments in flight through quote + pay for 30 s, over 1 BTC
    /// channels, LDK's forwarding delay kept.
    Default,
    /// A line of 3 at full speed: 64 in flight through quote + pay, for 60 s, over 10 BTC
    /// channels, forwarding without LDK's delay. (Quote + pay, not direct pay: the
    /// direct mode polls each payment every 5 ms, and at 64 in flight that polling is
    /// most of the payer's work.)
    BenchLine,
    /// A star of 4 payers and 4 payees around one hub, otherwise as `bench-line`.
    BenchStar,
    /// `bench-line`'s load held for 30 minutes, reported in 5-minute windows with the
    /// soak checks (throughput held, RSS flat, the router's RSS capped), a block mined
    /// every 10 s. Its channels
    /// hold 90 BTC rather than 10: the line pays one way, and 10 BTC carries about
    /// 100,000 payments of 10,000 sat, some ten minutes at `bench-line`'s pace.
    Soak,
    /// The detour ([`sluice_harness::cluster::detour`]) paid at a steady 4 payments a
    /// second for 2 minutes, each payment's fee ceiling one forwarding fee (1 sat), over a
    /// 2,000,000 sat direct channel (the others 8,000,000), with the payer's rebalancer
    /// on. Without rebalancing the direct channel runs dry after about 197 payments
    /// (its capacity less the 1 % reserve and the commitment's fees, 10,001 sat a
    /// payment), some 50 s in: the rest fail, the only other route costing two fees.
    /// With it, each refill moves the payer's balance from the detour channel back into
    /// the direct one; the 480 payments of the run need about 3.2 M sat moved, half of
    /// what the detour channel can spare above its 20 % floor, and the hub's 8 M sat
    /// channel to the payee carries them all.
    Rebalance,
}

/// What a scenario sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// How the nodes are connected.
    pub topology: Topology,
    /// How many nodes.
    pub nodes: usize,
    /// Closed loop: payments in flight.
    pub concurrency: usize,
    /// How long to pay.
    pub duration: Duration,
    /// Each channel's capacity, sat.
    pub capacity_sat: u64,
    /// Whether the nodes run with `--skip-forward-delay`.
    pub skip_forward_delay: bool,
    /// How payers pay.
    pub mode: Mode,
    /// The window the run is reported in, if any.
    pub window: Option<Duration>,
    /// A block is mined every this often during the run, if set ([`crate::blocks`]).
    pub block_interval: Option<Duration>,
    /// Open loop: payments arriving per second (instead of `concurrency` in flight).
    pub rate: Option<f64>,
    /// Each payment's fee ceiling, sat.
    pub max_fee_sat: u64,
    /// Whether the payer runs a rebalancer.
    pub rebalancer: Rebalancer,
}

/// 1 BTC: 10,000 payments of 10,000 sat one way.
const DEFAULT_CAPACITY_SAT: u64 = 100_000_000;
/// 10 BTC: 100,000 payments of 10,000 sat one way, a minute at well over 1,000 a second.
const BENCH_CAPACITY_SAT: u64 = 1_000_000_000;
/// 90 BTC: nearly 900,000 payments of 10,000 sat one way, 30 minutes at close to 500 a
/// second. (The harness funds each opener with two 50 BTC coinbases, and a node accepts
/// channels of up to 100 BTC.)
const SOAK_CAPACITY_SAT: u64 = 9_000_000_000;
/// A block every 10 s in a soak: the chain goes on while it runs (regtest's 10 s for
/// mainnet's 10 min), so channel refreshes lock within a minute or so.
const SOAK_BLOCK_INTERVAL: Duration = Duration::from_secs(10);
/// How long a soak pays.
const SOAK_DURATION: Duration = Duration::from_secs(30 * 60);
/// A payment's fee ceiling unless a scenario says otherwise, sat.
pub const DEFAULT_MAX_FEE_SAT: u64 = 100;
/// The detour's direct channel in `rebalance`: small enough to run dry within the run.
const REBALANCE_CAPACITY_SAT: u64 = 2_000_000;
/// One forwarding fee (sluice's default 1,000 msat base, no proportional part): the
/// direct route fits under it, the detour (two fees) does not.
const REBALANCE_MAX_FEE_SAT: u64 = 1;
/// The steady arrival rate of `rebalance`: 40,000 sat a second, which drains the
/// direct channel in some 50 s and which a 1 s rebalancer tick keeps up with.
const REBALANCE_RATE: f64 = 4.0;
/// How long `rebalance` pays: well over twice what the direct channel lasts alone.
const REBALANCE_DURATION: Duration = Duration::from_secs(120);

impl Scenario {
    /// The scenario's settings.
    pub fn settings(self) -> Settings {
        let bench = Settings {
            topology: Topology::Line,
            nodes: 3,
            concurrency: 64,
            duration: Duration::from_secs(60),
            capacity_sat: BENCH_CAPACITY_SAT,
            skip_forward_delay: true,
            mode: Mode::Quote,
            window: None,
            block_interval: None,
            rate: None,
            max_fee_sat: DEFAULT_MAX_FEE_SAT,
            rebalancer: Rebalancer::Off,
        };
        match self {
            Scenario::Default => Settings {
                topology: Topology::Line,
                nodes: 3,
                concurrency: 8,
                duration: Duration::from_secs(30),
                capacity_sat: DEFAULT_CAPACITY_SAT,
                skip_forward_delay: false,
                mode: Mode::Quote,
                window: None,
                block_interval: None,
                rate: None,
                max_fee_sat: DEFAULT_MAX_FEE_SAT,
                rebalancer: Rebalancer::Off,
            },
            Scenario::BenchLine => bench,
            Scenario::BenchStar => Settings {
                topology: Topology::Star,
                nodes: 9,
                ..bench
            },
            Scenario::Soak => Settings {
                duration: SOAK_DURATION,
                capacity_sat: SOAK_CAPACITY_SAT,
                window: Some(crate::windows::DEFAULT_WINDOW),
                block_interval: Some(SOAK_BLOCK_INTERVAL),
                ..bench
            },
            Scenario::Rebalance => Settings {
                topology: Topology::Detour,
                nodes: 4,
                concurrency: 8,
                duration: REBALANCE_DURATION,
                capacity_sat: REBALANCE_CAPACITY_SAT,
                skip_forward_delay: false,
                mode: Mode::Quote,
                window: None,
                block_interval: None,
                rate: Some(REBALANCE_RATE),
                max_fee_sat: REBALANCE_MAX_FEE_SAT,
                rebalancer: Rebalancer::On,
            },
        }
    }
}

impl FromStr for Scenario {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "default" => Ok(Scenario::Default),
            "bench-line" => Ok(Scenario::BenchLine),
            "bench-star" => Ok(Scenario::BenchStar),
            "soak" => Ok(Scenario::Soak),
            "rebalance" => Ok(Scenario::Rebalance),
            other => Err(Error::Usage(format!(
                "`{other}` is not a scenario: default, bench-line, bench-star, soak or \
                 rebalance"
            ))),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scenario::Default => "default",
            Scenario::BenchLine => "bench-line",
            Scenario::BenchStar => "bench-star",
            Scenario::Soak => "soak",
            Scenario::Rebalance => "rebalance",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_by_name_and_fit_their_topology() {
        let all = [
            Scenario::Default,
            Scenario::BenchLine,
            Scenario::BenchStar,
            Scenario::Soak,
            Scenario::Rebalance,
        ];
        for scenario in all {
            assert_eq!(scenario.to_string().parse::<Scenario>().unwrap(), scenario);
            let s = scenario.settings();
            let spec = sluice_harness::ClusterSpec {
                topology: s.topology,
                nodes: s.nodes,
                capacity_sat: s.capacity_sat,
            };
            assert!(spec.plan().is_ok(), "{scenario}");
        }
        assert_eq!(Scenario::BenchStar.settings().nodes, 9);
        assert!(matches!("bench".parse::<Scenario>(), Err(Error::Usage(_))));
        // Only `rebalance` runs a rebalancer or pays at a set rate by default.
        for scenario in all {
            let s = scenario.settings();
            let rebalance = scenario == Scenario::Rebalance;
            assert_eq!(s.rebalancer == Rebalancer::On, rebalance, "{scenario}");
            assert_eq!(s.rate.is_some(), rebalance, "{scenario}");
            assert_eq!(
                s.max_fee_sat == DEFAULT_MAX_FEE_SAT,
                !rebalance,
                "{scenario}"
            );
        }
    }

    #[test]
    fn rebalance_drains_the_direct_channel_well_before_its_end_without_a_rebalancer() {
        use sluice_harness::cluster::detour;
        let s = Scenario::Rebalance.settings();
        let spec = sluice_harness::ClusterSpec {
            topology: s.topology,
            nodes: s.nodes,
            capacity_sat: s.capacity_sat,
        };
        let plan = spec.plan().unwrap();
        assert_eq!(plan.pairs, vec![(detour::PAYER, detour::PAYEE)]);
        let amount_sat = 10_000; // `--amount-sat`'s default
                                 // One forwarding fee (1,000 msat) fits the ceiling, two do not.
        assert!(s.max_fee_sat * 1000 >= 1_000 && s.max_fee_sat * 1000 < 2_000);
        let per_payment = amount_sat + s.max_fee_sat;
        let direct = spec.channel_capacity_sat(detour::DIRECT);
        let rate = s.rate.unwrap();
        let asked = (rate * s.duration.as_secs_f64()) as u64;
        // Alone, the direct channel (less its 1 % reserve) carries fewer than half the
        // payments asked for: it runs dry before the run is half over.
        let alone = direct * 99 / 100 / per_payment;
        assert!(alone * 2 < asked, "{alone} of {asked}");
        assert!((alone as f64 / rate) < s.duration.as_secs_f64() / 2.0);
        // What rebalancing must bring back into it (down to its 20 % floor) fits in what
        // the source channel spares above its own 20 % band, with room over.
        let needed = asked * per_payment - (direct - direct / 5);
        let source = spec.channel_capacity_sat(detour::SOURCE);
        let spare = source - source / 5;
        assert!(needed * 3 / 2 <= spare, "{needed} of {spare}");
        // The hub's channel to the payee and the way back from the detour carry it all,
        // reserves aside.
        assert!(asked * per_payment <= spec.channel_capacity_sat(detour::HUB_PAYEE) * 99 / 100);
        assert!(needed <= spec.channel_capacity_sat(detour::RETURN) * 99 / 100);
        // One rebalance moves at most a quarter of the direct channel (LDK's router's
        // default share of a channel for one path).
        let config = crate::rebalancer::RunConfig::for_mode(s.rebalancer).unwrap();
        assert!(config.max_sat <= direct / 4);
    }

    #[test]
    fn a_soak_is_bench_line_held_for_half_an_hour_in_windows() {
        let soak = Scenario::Soak.settings();
        assert_eq!(
            soak,
            Settings {
                duration: Duration::from_secs(1_800),
                capacity_sat: SOAK_CAPACITY_SAT,
                window: Some(Duration::from_secs(300)),
                block_interval: Some(Duration::from_secs(10)),
                ..Scenario::BenchLine.settings()
            }
        );
        // Room for the half hour at 450 payments a second one way, fees and the 1 %
        // channel reserve aside.
        assert!(soak.capacity_sat * 99 / 100 >= 450 * 1_800 * (10_000 + 100));
        assert!(Scenario::BenchLine.settings().window.is_none());
        assert!(Scenario::BenchLine.settings().block_interval.is_none());
    }
}
