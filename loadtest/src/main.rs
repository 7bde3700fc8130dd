//! `sluice-loadtest`: brings up a regtest cluster of sluice nodes on 127.0.0.1, pays
//! invoices through the HTTP API, and reports throughput, latency, failures and
//! resource use (per window too, with `--window` or `--scenario soak`), after checking
//! that every payment is accounted for.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use sluice_harness::{Cluster, ClusterSpec, Manifest, NodeOptions, SluiceBinary, Topology};
use sluice_loadtest::blocks::{self, BlockMiner};
use sluice_loadtest::driver::{self, DriverConfig, Load, Mode, Progress, Stop};
use sluice_loadtest::report::{self, Conditions, NodeUsage};
use sluice_loadtest::scenario::{Scenario, Settings};
use sluice_loadtest::windows::{self, Process};
use sluice_loadtest::{ceiling, invariants, usage, Error};

#[derive(Parser, Debug)]
#[command(about, version)]
struct Args {
    /// Where the settings start: default (a line of 3, quote + pay, 8 in flight, 30 s),
    /// bench-line (a line of 3 at full speed: quote + pay, 64 in flight, 60 s, 10 BTC
    /// channels, --skip-forward-delay), bench-star (bench-line over a star of 9) or soak
    /// (bench-line held for 30 min over 90 BTC channels, reported in 5-minute windows
    /// with its checks: the last window's payments/s at least 90 % of the first's, each
    /// node's RSS at most 10 % above its RSS at the first window end at or after 10 min,
    /// the router at most 256 MiB at every window end). The flags below override it.
    #[arg(long, default_value = "default")]
    scenario: Scenario,
    /// The topology: line (payer → routers → payee), star (K payers → hub → K payees)
    /// or ring. [default: line]
    #[arg(long)]
    topology: Option<Topology>,
    /// How many nodes (a star takes an odd number). [default: 3]
    #[arg(long)]
    nodes: Option<usize>,
    /// Closed loop: this many payments in flight. [default: 8]
    #[arg(long, conflicts_with = "rate")]
    concurrency: Option<usize>,
    /// Open loop: this many payments arriving per second.
    #[arg(long)]
    rate: Option<f64>,
    /// How long to pay (`30s`, `2m`, `500ms`). [default: 30s]
    #[arg(long, value_parser = parse_duration, conflicts_with = "count")]
    duration: Option<Duration>,
    /// Stop after this many payments instead.
    #[arg(long)]
    count: Option<u64>,
    /// Report the run in windows this long (`30s`, `5m`): per window the payments, their
    /// rate and p50/p99 latency, and each process's RSS at its end and CPU in it; then
    /// the soak checks. [default with --scenario soak: 5m; otherwise no windows]
    #[arg(long, value_parser = parse_positive)]
    window: Option<Duration>,
    /// Mine a block this often while paying, or while holding the cluster with --hold
    /// (`10s`), as a chain would go on: channel refreshes (splices) lock only with blocks.
    /// [default with --scenario soak: 10s; otherwise none]
    #[arg(long, value_parser = parse_positive, conflicts_with = "reuse")]
    block_interval: Option<Duration>,
    /// Each payment's amount, sat (10,000 by default: above dust, so HTLCs are real
    /// outputs).
    #[arg(long, default_value_t = 10_000)]
    amount_sat: u64,
    /// Each payment's fee ceiling, sat.
    #[arg(long, default_value_t = 100)]
    max_fee_sat: u64,
    /// Each channel's capacity, sat. [default: 100000000, 1 BTC]
    #[arg(long)]
    capacity_sat: Option<u64>,
    /// Start the nodes with `--skip-forward-delay`: HTLCs are forwarded as soon as they
    /// are committed instead of after LDK's random batching delay.
    #[arg(long)]
    skip_forward_delay: bool,
    /// One more `sluice run` flag for every node, repeatable, e.g.
    /// `--node-arg=--ldk-timer-tick-secs=10` (the nodes do not see the driver's `SLUICE_*`
    /// variables). The report's conditions list the nodes' flags.
    #[arg(long = "node-arg", value_name = "FLAG", allow_hyphen_values = true)]
    node_args: Vec<String>,
    /// quote (quote_pay then pay, the TreasuryRouter path) or direct (pay the invoice).
    /// [default: quote]
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
    /// Where to write report.json, report.md and the charts (and cluster.json with
    /// --hold).
    #[arg(long, default_value = "loadtest-report")]
    out: PathBuf,
    /// Build the cluster, write its manifest to OUT/cluster.json and keep it up until
    /// Ctrl-C, without paying: later runs drive it with --reuse.
    #[arg(long, conflicts_with = "reuse")]
    hold: bool,
    /// Drive the cluster of this manifest (written by --hold) instead of building one.
    #[arg(
        long,
        value_name = "CLUSTER_JSON",
        conflicts_with_all = ["topology", "nodes", "capacity_sat", "skip_forward_delay", "node_args", "scenario"]
    )]
    reuse: Option<PathBuf>,
}

/// The run's settings: the scenario's, with every flag given put over them.
fn settings(args: &Args) -> Settings {
    let base = args.scenario.settings();
    Settings {
        topology: args.topology.unwrap_or(base.topology),
        nodes: args.nodes.unwrap_or(base.nodes),
        concurrency: args.concurrency.unwrap_or(base.concurrency),
        duration: args.duration.unwrap_or(base.duration),
        capacity_sat: args.capacity_sat.unwrap_or(base.capacity_sat),
        skip_forward_delay: args.skip_forward_delay || base.skip_forward_delay,
        mode: args.mode.unwrap_or(base.mode),
        window: args.window.or(base.window),
        block_interval: args.block_interval.or(base.block_interval),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 2m or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{text}`: the unit must be ms, s or m")),
    }
}

fn parse_positive(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        zero if zero.is_zero() => Err("must be longer than 0 s".into()),
        positive => Ok(positive),
    }
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    match text {
        "quote" => Ok(Mode::Quote),
        "direct" => Ok(Mode::Direct),
        other => Err(format!("`{other}` is not a mode: quote or direct")),
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpus} CPUs, {memory_gib:.0} GiB, {} {}",
        std::env::consts::OS,
        kernel.trim()
    )
}

fn roles(cluster: &Manifest) -> Vec<String> {
    (0..cluster.nodes.len())
        .map(|i| {
            let pays = cluster.plan.pairs.iter().any(|&(p, _)| p == i);
            let paid = cluster.plan.pairs.iter().any(|&(_, q)| q == i);
            match (pays, paid) {
                (true, true) => "payer+payee",
                (true, false) => "payer",
                (false, true) => "payee",
                (false, false) => "router",
            }
            .to_owned()
        })
        .collect()
}

/// The processes of a run in the order their use is read: the nodes, then the driver.
fn processes(cluster: &Manifest) -> Vec<Process> {
    roles(cluster)
        .into_iter()
        .zip(&cluster.nodes)
        .map(|(role, node)| Process {
            name: node.name.clone(),
            node: true,
            router: role == "router",
        })
        .chain([Process {
            name: "driver".into(),
            node: false,
            router: false,
        }])
        .collect()
}

/// Reads every process's use (`read`) at each window's end, counted from now, until
/// `done`: the samples in order.
fn sample_window_ends(
    window: Duration,
    done: &AtomicBool,
    read: &dyn Fn() -> Vec<Option<usage::Usage>>,
) -> Vec<Vec<Option<usage::Usage>>> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next = window;
    while !done.load(Ordering::Relaxed) {
        let now = started.elapsed();
        if now >= next {
            samples.push(read());
            next += window;
        } else {
            // Wakes at the window's end, or soon after the run ends.
            std::thread::sleep((next - now).min(Duration::from_millis(100)));
        }
    }
    samples
}

/// Builds the cluster the settings describe.
/// The flags every node starts with: the scenario's, then `extra` in order.
fn node_args(settings: &Settings, extra: &[String]) -> Vec<String> {
    settings
        .skip_forward_delay
        .then(|| "--skip-forward-delay".to_owned())
        .into_iter()
        .chain(extra.iter().cloned())
        .collect()
}

fn start_cluster(settings: &Settings, extra_node_args: &[String]) -> Result<Cluster, Error> {
    let binary = SluiceBinary::for_workspace()?;
    let spec = ClusterSpec {
        topology: settings.topology,
        nodes: settings.nodes,
        capacity_sat: settings.capacity_sat,
    };
    eprintln!(
        "starting a {} of {} nodes on 127.0.0.1 …",
        settings.topology, settings.nodes
    );
    let setup = Instant::now();
    let node_args = node_args(settings, extra_node_args);
    let cluster = Cluster::start(&binary, spec, |chain| {
        NodeOptions::regtest(chain).args(node_args.iter().map(String::as_str))
    })?;
    eprintln!(
        "cluster ready in {:.1} s: {} channels, {} payer→payee pairs",
        setup.elapsed().as_secs_f64(),
        cluster.plan.channels.len(),
        cluster.plan.pairs.len()
    );
    Ok(cluster)
}

/// `--hold`: builds the cluster, writes its manifest and keeps it up until Ctrl-C.
fn hold(args: &Args) -> Result<(), Error> {
    let settings = settings(args);
    let cluster = start_cluster(&settings, &args.node_args)?;
    // Runs driving the held cluster (`--reuse`) see blocks come as in a run of their own.
    let miner = settings
        .block_interval
        .map(|interval| BlockMiner::start(cluster.rpc(), interval));
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        what: format!("creating {}", args.out.display()),
        source,
    })?;
    let path = args.out.join("cluster.json");
    cluster.manifest().write(&path)?;
    eprintln!(
        "cluster held; drive it with `--reuse {}`; Ctrl-C tears it down",
        path.display()
    );
    while !sluice_harness::stop_requested() {
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("tearing the cluster down …");
    drop(miner);
    drop(cluster);
    // The manifest's addresses and tokens are dead now.
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Shows the run's progress on a bar until `run` returns.
fn with_progress<T>(stop: Stop, progress: &Progress, run: impl FnOnce() -> T) -> T {
    let bar = match stop {
        Stop::Count(count) => ProgressBar::new(count),
        Stop::After(limit) => ProgressBar::new(limit.as_secs().max(1)),
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = (Instant::now(), 0u64);
            while !bar.is_finished() {
                std::thread::sleep(Duration::from_millis(250));
                let ok = progress.succeeded.load(Ordering::Relaxed);
                let failed = progress.failed.load(Ordering::Relaxed);
                let rate = (ok - last.1) as f64 / last.0.elapsed().as_secs_f64();
                last = (Instant::now(), ok);
                match stop {
                    Stop::Count(_) => bar.set_position(ok + failed),
                    Stop::After(_) => bar.set_position(started.elapsed().as_secs()),
                }
                bar.set_message(format!("{ok} paid · {rate:.0}/s · {failed} failed"));
            }
        });
        let result = run();
        bar.finish();
        result
    })
}

fn run(args: &Args) -> Result<report::Report, Error> {
    let settings = settings(args);
    // A cluster built here lives until the report is written.
    let (owned, cluster) = match &args.reuse {
        Some(path) => (None, Manifest::read(path)?),
        None => {
            let cluster = start_cluster(&settings, &args.node_args)?;
            let manifest = cluster.manifest();
            (Some(cluster), manifest)
        }
    };
    let config = DriverConfig {
        load: match args.rate {
            Some(rate) => Load::Open { rate },
            None => Load::Closed {
                concurrency: settings.concurrency,
            },
        },
        stop: match args.count {
            Some(count) => Stop::Count(count),
            None => Stop::After(settings.duration),
        },
        mode: settings.mode,
        amount_sat: args.amount_sat,
        max_fee_sat: args.max_fee_sat,
    };
    let costs = ceiling::measure()
        .inspect_err(|e| eprintln!("warning: no signature-bound ceiling: {e}"))
        .ok();
    let before = invariants::books(&cluster)?;
    let signatures_before = ceiling::counted_so_far(&cluster)
        .inspect_err(|e| eprintln!("warning: no signature counts: {e}"))
        .ok();
    // The driver's own use too: it shares the machine with the nodes.
    let pids: Vec<Option<u32>> = cluster
        .nodes
        .iter()
        .map(|n| n.pid)
        .chain([Some(std::process::id())])
        .collect();
    let usage_now = || -> Vec<Option<usage::Usage>> {
        pids.iter().map(|pid| pid.and_then(usage::of)).collect()
    };
    let refreshes_before = blocks::refreshes_started(&cluster)?;
    // Until the checks are done: a refresh started near the end locks with more blocks.
    let miner = owned
        .as_ref()
        .zip(settings.block_interval)
        .map(|(cluster, interval)| BlockMiner::start(cluster.rpc(), interval));
    let usage_before = usage_now();

    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let (result, at_window_ends) = std::thread::scope(|s| {
        let (done, read) = (&done, &usage_now);
        let sampler = settings
            .window
            .map(|window| s.spawn(move || sample_window_ends(window, done, read)));
        let result = with_progress(config.stop, &progress, || {
            driver::run(&cluster, config, &progress)
        });
        done.store(true, Ordering::Relaxed);
        let samples = sampler.map(|sampler| {
            sampler.join().unwrap_or_else(|_| {
                eprintln!("warning: the window sampler panicked; windows without samples");
                Vec::new()
            })
        });
        (result, samples.unwrap_or_default())
    });
    // Taken before the invariants are checked, which is work of its own.
    let usage_after = usage_now();
    let signatures_after = ceiling::counted_so_far(&cluster)
        .inspect_err(|e| eprintln!("warning: no signature counts: {e}"))
        .ok();
    let windows = settings
        .window
        .map(|window| {
            windows::summarise(
                &result.attempts,
                windows::span(config.stop, result.elapsed, &result.attempts),
                window,
                processes(&cluster),
                &usage_before,
                &at_window_ends,
                &usage_after,
            )
        })
        .transpose()?;

    eprintln!("checking every payment against its payee …");
    // A splice still waiting for its blocks shows its new balance but the old capacity:
    // with blocks coming, the balances get the time for one to lock.
    let settle = invariants::SETTLE + settings.block_interval.map_or(Duration::ZERO, |b| b * 8);
    let checked = invariants::check_within(
        &cluster,
        &result.attempts,
        &before,
        args.amount_sat * 1000,
        settle,
    )?;
    let refreshes = blocks::refreshes_started(&cluster)?.saturating_sub(refreshes_before);
    let chain = match (miner.map(BlockMiner::finish), settings.block_interval) {
        (Some(mined), Some(interval)) => format!(
            "a block every {} s ({mined} mined); {refreshes} channel refreshes started",
            interval.as_secs_f64()
        ),
        _ => format!("no blocks mined; {refreshes} channel refreshes started"),
    };
    let names = cluster
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .chain(["driver".to_owned()]);
    let roles = roles(&cluster)
        .into_iter()
        .chain(["load driver (this process)".to_owned()]);
    let nodes = names
        .zip(roles)
        .zip(usage_before.iter().zip(&usage_after))
        .map(|((name, role), (before, after))| {
            let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
            NodeUsage {
                name,
                role,
                cpu_secs: after.cpu.saturating_sub(before.cpu).as_secs_f64(),
                peak_rss_mib: after.peak_rss_bytes as f64 / 1024.0 / 1024.0,
            }
        })
        .collect();
    let conditions = Conditions {
        scenario: args.scenario.to_string(),
        machine: machine(),
        topology: format!("{} of {}", cluster.topology, cluster.nodes.len()),
        load: match config.load {
            Load::Closed { concurrency } => format!("closed loop, {concurrency} in flight"),
            Load::Open { rate } => format!("open loop, {rate} payments/s"),
        },
        mode: match settings.mode {
            Mode::Quote => "quote_pay + pay".into(),
            Mode::Direct => "direct pay".into(),
        },
        amount_sat: args.amount_sat,
        capacity_sat: cluster.capacity_sat,
        durability: "every channel-state change fsynced (group commit) before it is acted on"
            .into(),
        node_args: cluster.node_args.join(" "),
        chain,
    };
    let mut report = report::summarise(&result, nodes, checked, conditions)?;
    report.windows = windows;
    if let Some(costs) = costs {
        let pairs = &cluster.plan.pairs;
        let hops: usize = pairs
            .iter()
            .filter_map(|&(payer, payee)| cluster.plan.min_hops(payer, payee))
            .sum();
        let counted = signatures_before
            .zip(signatures_after)
            .map(|(before, after)| after.since(before, report.succeeded));
        report.ceiling = Some(ceiling::ceiling(
            costs,
            hops as f64 / pairs.len().max(1) as f64,
            counted,
            settings.mode == Mode::Quote,
            std::thread::available_parallelism().map_or(1, usize::from),
            report.throughput_pps,
        ));
    }
    report.write(&args.out)?;
    Ok(report)
}

fn print_report(report: &report::Report, out: &Path) -> ExitCode {
    println!("{}", report.markdown());
    println!("report: {}", out.join("report.json").display());
    if report.invariants.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Ctrl-C ends the set-up or the run early; the cluster is then torn down in order.
    if let Err(e) = sluice_harness::stop_on_ctrl_c() {
        eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}");
    }
    let outcome = if args.hold {
        hold(&args).map(|()| ExitCode::SUCCESS)
    } else {
        run(&args).map(|report| print_report(&report, &args.out))
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_args_follow_the_scenarios_flags_in_order() {
        let args = Args::try_parse_from([
            "sluice-loadtest",
            "--scenario",
            "bench-line",
            "--node-arg=--ldk-timer-tick-secs=10",
            "--node-arg",
            "--send-window=32",
        ])
        .unwrap();
        assert_eq!(
            node_args(&settings(&args), &args.node_args),
            [
                "--skip-forward-delay",
                "--ldk-timer-tick-secs=10",
                "--send-window=32"
            ]
        );
        let plain = Args::try_parse_from(["sluice-loadtest"]).unwrap();
        assert!(node_args(&settings(&plain), &plain.node_args).is_empty());
        // A reused cluster keeps the flags it was started with.
        let reuse = Args::try_parse_from([
            "sluice-loadtest",
            "--reuse",
            "cluster.json",
            "--node-arg=--skip-forward-delay",
        ]);
        assert!(reuse.is_err());
    }
}
