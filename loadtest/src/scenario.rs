//! Named scenarios: the settings a run starts from before its flags. `default` is what
//! `cargo run --release -p sluice-loadtest` runs; `bench-line` and `bench-star` are the
//! throughput benchmarks (the payment router at full speed over a line and a star);
//! `soak` holds `bench-line`'s load for 30 minutes and reports it in 5-minute windows
//! with the soak checks ([`crate::windows`]). Every flag given on the command line
//! overrides its scenario's value.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sluice_harness::Topology;

use crate::driver::Mode;
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
            other => Err(Error::Usage(format!(
                "`{other}` is not a scenario: default, bench-line, bench-star or soak"
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
