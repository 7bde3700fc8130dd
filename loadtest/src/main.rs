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
use sluice_api_types::{RebalanceChannelSettings, RebalancerStatusResponse};
use sluice_harness::cluster::detour;
use sluice_harness::{
    wait_for, ApiClient, Cluster, ClusterSpec, Manifest, NodeOptions, Plan, RrpFunding,
    SluiceBinary, Topology,
};
use sluice_loadtest::blocks::{self, BlockMiner};
use sluice_loadtest::driver::{self, Attempt, DriverConfig, Load, Mode, Progress, Stop};
use sluice_loadtest::rebalancer::{
    self, Bands, Mode as Rebalancer, Observation, RebalancerReport, RunConfig, Tally,
};
use sluice_loadtest::report::{self, Conditions, NodeUsage};
use sluice_loadtest::scenario::{Scenario, Settings};
use sluice_loadtest::windows::{self, Process};
use sluice_loadtest::{ceiling, invariants, usage, Error};

#[derive(Parser, Debug)]
#[command(about, version)]
struct Args {
    /// Where the settings start: default (a line of 3, quote + pay, 8 in flight, 30 s),
    /// bench-line (a line of 3 at full speed: quote + pay, 64 in flight, 60 s, 10 BTC
    /// channels, --skip-forward-delay), bench-star (bench-line over a star of 9), soak
    /// (bench-line held for 30 min over 90 BTC channels, reported in 5-minute windows
    /// with its checks: the last window's payments/s at least 90 % of the first's, each
    /// node's RSS at most 10 % above its RSS at the first window end at or after 10 min,
    /// the router at most 256 MiB at every window end) or rebalance (the detour at 4
    /// payments/s for 2 min, each payment's fee ceiling 1 sat, one forwarding fee, over
    /// a 2,000,000 sat direct channel, the payer's rebalancer on). The flags below
    /// override it.
    #[arg(long, default_value = "default")]
    scenario: Scenario,
    /// The topology: line (payer → routers → payee), star (K payers → hub → K payees),
    /// ring, or detour (payer → hub → payee, and payer → detour → hub: 4 nodes, the
    /// direct channel at --capacity-sat and the others 4 times it). [default: line]
    #[arg(long)]
    topology: Option<Topology>,
    /// How many nodes (a star takes an odd number, a detour 4). [default: 3; a detour's
    /// 4]
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
    /// Each payment's fee ceiling, sat. [default: 100; with --scenario rebalance 1, one
    /// forwarding fee]
    #[arg(long)]
    max_fee_sat: Option<u64>,
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
    /// The payer's rebalancer: on, off or dry-run (plans, pays nothing). On or dry-run,
    /// the payer starts with a [rebalancer] section (1 s tick and cooldown, a 1,000 sat
    /// daily budget), its pool's RRP partition is funded before the load, over the
    /// detour its channel to the detour node gets the band 0–20 % so it is the source,
    /// and the rebalancer is halted after the load while the books are checked. Over
    /// the detour, or with a rebalancer, the report gives each of the payer's channels'
    /// time in band. [default: on with --scenario rebalance, otherwise off]
    #[arg(long, value_parser = parse_rebalancer, conflicts_with = "reuse")]
    rebalancer: Option<Rebalancer>,
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
    let topology = args.topology.unwrap_or(base.topology);
    Settings {
        topology,
        // A detour has exactly its four nodes.
        nodes: args.nodes.unwrap_or(match topology {
            Topology::Detour => detour::NODES,
            _ => base.nodes,
        }),
        concurrency: args.concurrency.unwrap_or(base.concurrency),
        duration: args.duration.unwrap_or(base.duration),
        capacity_sat: args.capacity_sat.unwrap_or(base.capacity_sat),
        skip_forward_delay: args.skip_forward_delay || base.skip_forward_delay,
        mode: args.mode.unwrap_or(base.mode),
        window: args.window.or(base.window),
        block_interval: args.block_interval.or(base.block_interval),
        // `--concurrency` closes a scenario's open loop.
        rate: match args.concurrency {
            Some(_) => None,
            None => args.rate.or(base.rate),
        },
        max_fee_sat: args.max_fee_sat.unwrap_or(base.max_fee_sat),
        rebalancer: args.rebalancer.unwrap_or(base.rebalancer),
    }
}

fn parse_rebalancer(text: &str) -> Result<Rebalancer, String> {
    text.parse().map_err(|e: Error| e.to_string())
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

/// The topology and its size for the report (the detour's channel sizes too).
fn topology(cluster: &Manifest) -> String {
    let n = cluster.nodes.len();
    match cluster.topology {
        Topology::Detour => format!(
            "detour of {n} (direct channel {} sat, the others {} sat)",
            cluster.capacity_sat,
            Topology::Detour.channel_capacity_sat(detour::SOURCE, cluster.capacity_sat)
        ),
        other => format!("{other} of {n}"),
    }
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
    let payer = payer(&spec.plan()?);
    let section = RunConfig::for_mode(settings.rebalancer).map(|config| config.toml());
    eprintln!(
        "starting a {} of {} nodes on 127.0.0.1{} …",
        settings.topology,
        settings.nodes,
        match settings.rebalancer {
            Rebalancer::Off => String::new(),
            mode => format!(", node-{payer} with its rebalancer {mode}"),
        }
    );
    let setup = Instant::now();
    let node_args = node_args(settings, extra_node_args);
    let cluster = Cluster::start_with(&binary, spec, |chain, i| {
        let options = NodeOptions::regtest(chain).args(node_args.iter().map(String::as_str));
        match &section {
            Some(section) if i == payer => options.config_section(section),
            _ => options,
        }
    })?;
    eprintln!(
        "cluster ready in {:.1} s: {} channels, {} payer→payee pairs",
        setup.elapsed().as_secs_f64(),
        cluster.plan.channels.len(),
        cluster.plan.pairs.len()
    );
    Ok(cluster)
}

/// The payer: the first pair's.
fn payer(plan: &Plan) -> usize {
    plan.pairs.first().map_or(0, |&(payer, _)| payer)
}

/// The payer's rebalancer in a run: who it is, how its channels are judged, what was
/// set up for it.
struct Watch {
    mode: Rebalancer,
    payer: usize,
    /// An admin client of the payer.
    client: ApiClient,
    /// The bands its channels are judged against when it runs no rebalancer.
    bands: Bands,
    /// The detour's source channel (0–3): its id and its name in the report.
    source: Option<(String, String)>,
    /// The settings it was started with (a cluster built here).
    config: Option<RunConfig>,
    /// Its RRP funding (a cluster built here).
    rrp: Option<RrpFunding>,
    /// Names of the cluster's nodes by node id.
    names: Vec<(String, String)>,
    notes: Vec<String>,
}

impl Watch {
    /// The watch of `cluster`'s payer with its rebalancer `mode`: `None` unless it runs
    /// one or the cluster is a detour.
    fn of(cluster: &Manifest, mode: Rebalancer) -> Result<Option<Watch>, Error> {
        if !mode.runs() && cluster.topology != Topology::Detour {
            return Ok(None);
        }
        let payer = payer(&cluster.plan);
        let client = cluster.nodes[payer].client();
        let names: Vec<(String, String)> = cluster
            .nodes
            .iter()
            .map(|n| (n.node_id.clone(), n.name.clone()))
            .collect();
        let source = match cluster.topology {
            Topology::Detour => {
                let (opener, peer) = cluster.plan.channels[detour::SOURCE];
                let peer_id = &cluster.nodes[peer].node_id;
                let channel = client
                    .list_channels()?
                    .into_iter()
                    .find(|c| c.is_outbound && &c.counterparty_node_id == peer_id)
                    .ok_or_else(|| {
                        Error::Unexpected(format!("the detour's channel {opener}→{peer} is gone"))
                    })?;
                let name = format!(
                    "{}–{}",
                    cluster.nodes[opener].name, cluster.nodes[peer].name
                );
                Some((channel.channel_id, name))
            }
            _ => None,
        };
        let bands = Bands {
            default: rebalancer::DEFAULT_BAND,
            own: source
                .iter()
                .map(|(id, _)| (id.clone(), rebalancer::SOURCE_BAND))
                .collect(),
        };
        Ok(Some(Watch {
            mode,
            payer,
            client,
            bands,
            source,
            config: RunConfig::for_mode(mode),
            rrp: None,
            names,
            notes: Vec::new(),
        }))
    }

    /// The watch of a reused cluster's payer: its rebalancer as its status shows it.
    fn of_reused(cluster: &Manifest) -> Result<Option<Watch>, Error> {
        if cluster.topology != Topology::Detour {
            return Ok(None);
        }
        let status = cluster.nodes[payer(&cluster.plan)]
            .client()
            .rebalancer_status();
        let mode = match &status {
            Ok(s) if s.enabled && s.dry_run => Rebalancer::DryRun,
            Ok(s) if s.enabled => Rebalancer::On,
            _ => Rebalancer::Off,
        };
        let mut watch = Watch::of(cluster, mode)?;
        if let (Some(watch), Err(e)) = (&mut watch, status) {
            watch.notes.push(format!(
                "the reused cluster's payer did not answer its rebalancer status ({e}): taken \
                 to run none"
            ));
        }
        Ok(watch)
    }

    /// Before the load, on a cluster built here: with a rebalancer, funds the payer's RRP
    /// partition (with the daily budget, or the coinbase that pays it) and gives the
    /// source channel its band.
    fn provision(&mut self, cluster: &Cluster) -> Result<(), Error> {
        let Some(config) = self.config else {
            return Ok(());
        };
        eprintln!(
            "funding node-{}'s RRP partition (a coinbase to its deposit address, then 100 \
             blocks) …",
            self.payer
        );
        let funded = cluster.fund_rrp(self.payer, config.daily_budget_sat)?;
        eprintln!(
            "RRP holds {} sat (deposit {}, pool {})",
            funded.rrp_assets_msat / 1000,
            funded.deposit_id,
            funded.pool_id
        );
        self.rrp = Some(funded);
        if let Some((channel_id, name)) = &self.source {
            let settings = RebalanceChannelSettings {
                opted_out: false,
                committed: false,
                band: Some(rebalancer::SOURCE_BAND),
            };
            self.client
                .set_rebalance_channel(channel_id, &settings)
                .map_err(|e| Error::Unexpected(format!("setting {name}'s band: {e}")))?;
        }
        Ok(())
    }

    /// One read of the payer's channels: its rebalancer's status, or without one its
    /// channel list against the run's bands.
    fn read(&self) -> Result<Observation, String> {
        if self.mode.runs() {
            self.client
                .rebalancer_status()
                .map(|status| rebalancer::observe_status(&status))
                .map_err(|e| e.to_string())
        } else {
            self.client
                .list_channels()
                .map(|channels| rebalancer::observe_channels(&channels, &self.bands))
                .map_err(|e| e.to_string())
        }
    }

    /// The rebalancer's status before the load (with a rebalancer): its totals are the
    /// run's baseline. Notes a rebalancer that is not what was asked for.
    fn baseline(&mut self) -> Result<Option<RebalancerStatusResponse>, Error> {
        if !self.mode.runs() {
            return Ok(None);
        }
        let status = self.client.rebalancer_status().map_err(|e| {
            Error::Unexpected(format!("reading the payer's rebalancer status: {e}"))
        })?;
        if !status.enabled {
            self.notes.push(format!(
                "the payer reports no rebalancer running ({}), though it was started with one",
                status.note.as_deref().unwrap_or("no note")
            ));
        }
        if status.dry_run != (self.mode == Rebalancer::DryRun) {
            self.notes.push(format!(
                "the payer's rebalancer reports dry_run = {} in mode {}",
                status.dry_run, self.mode
            ));
        }
        if let Some(halt) = &status.halted {
            self.notes.push(format!(
                "the payer's rebalancer was halted before the load ({})",
                halt.reason
            ));
        }
        Ok(Some(status))
    }

    /// After the load: halts the rebalancer and waits for a rebalance still in flight, so
    /// the balances hold still for the checks; its status then.
    fn halt(&mut self) -> Option<RebalancerStatusResponse> {
        if !self.mode.runs() {
            return None;
        }
        if let Err(e) = self
            .client
            .halt_rebalancer("sluice-loadtest: the load is over; checking the books")
        {
            self.notes.push(format!(
                "halting the rebalancer after the load failed ({e}): rebalances made while the \
                 books were checked are not counted"
            ));
        }
        let settle = self.config.map_or(Duration::from_secs(75), |c| c.settle());
        let ended = wait_for("the payer's rebalances in flight to end", settle, || {
            let status = self.client.rebalancer_status()?;
            let pending = status.recent.iter().any(|r| r.state == "pending");
            Ok((!pending).then_some(status))
        });
        match ended {
            Ok(status) => Some(status),
            Err(e) => {
                self.notes.push(format!("after the load: {e}"));
                self.client.rebalancer_status().ok()
            }
        }
    }

    /// Releases the kill switch [`Watch::halt`] pulled (it matters for a held cluster).
    fn resume(&mut self, before: Option<&RebalancerStatusResponse>) {
        let was_halted = before.is_some_and(|s| s.halted.is_some());
        if self.mode.runs() && !was_halted {
            if let Err(e) = self.client.resume_rebalancer() {
                self.notes.push(format!(
                    "resuming the rebalancer after the checks failed: {e}"
                ));
            }
        }
    }

    /// The name of the payer's channel to `peer` (a node id).
    fn channel_name(&self, peer: &str) -> String {
        let name = |id: &str| {
            self.names
                .iter()
                .find(|(node_id, _)| node_id == id)
                .map_or_else(|| id.chars().take(16).collect(), |(_, name)| name.clone())
        };
        let payer = self
            .names
            .get(self.payer)
            .map_or("payer", |(_, n)| n.as_str());
        format!("{payer}–{}", name(peer))
    }

    /// The report's section.
    fn report(
        &self,
        tally: &Tally,
        run_totals: Option<sluice_api_types::RebalanceTotals>,
        after: Option<&RebalancerStatusResponse>,
        attempts: &[Attempt],
    ) -> RebalancerReport {
        let (first_failure_secs, last_success_secs) = rebalancer::failure_onset(attempts);
        let mut notes = self.notes.clone();
        if tally.reads > 0 && tally.failed == tally.reads {
            notes.push("every read of the payer failed: no time in band was measured".into());
        }
        RebalancerReport {
            mode: self.mode.to_string(),
            payer: self
                .names
                .get(self.payer)
                .map_or_else(String::new, |(_, n)| n.clone()),
            judged_by: if self.mode.runs() {
                "the payer's rebalancer (GET /v1/rebalancer)".into()
            } else {
                "the driver, from the payer's channel list against the bands a rebalancer \
                 would use"
                    .into()
            },
            config: self.config,
            rrp: self.rrp.clone(),
            source_channel: self.source.as_ref().map(|(_, name)| name.clone()),
            reads: tally.reads,
            failed_reads: tally.failed,
            read_errors: tally.errors.clone(),
            channels: rebalancer::channels_in_band(tally, &|peer| self.channel_name(peer)),
            run_totals,
            budget: after.and_then(|s| s.budget.clone()),
            max_spent_24h_msat: tally.max_spent_24h_msat,
            planning_reads: tally.planning_reads,
            first_failure_secs,
            last_success_secs,
            notes,
        }
    }
}

/// `--hold`: builds the cluster, writes its manifest and keeps it up until Ctrl-C.
fn hold(args: &Args) -> Result<(), Error> {
    let settings = settings(args);
    let cluster = start_cluster(&settings, &args.node_args)?;
    if let Some(mut watch) = Watch::of(&cluster.manifest(), settings.rebalancer)? {
        watch.provision(&cluster)?;
    }
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
    // The payer's rebalancer: set up before the load (its funding mines blocks, which
    // must come before the books are read and while no payment is in flight).
    let mut watch = match &owned {
        Some(built) => {
            let mut watch = Watch::of(&cluster, settings.rebalancer)?;
            if let Some(watch) = &mut watch {
                watch.provision(built)?;
            }
            watch
        }
        None => Watch::of_reused(&cluster)?,
    };
    let status_before = match &mut watch {
        Some(watch) => watch.baseline()?,
        None => None,
    };
    let config = DriverConfig {
        load: match settings.rate {
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
        max_fee_sat: settings.max_fee_sat,
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
    let (result, at_window_ends, tally) = std::thread::scope(|s| {
        let (done, read) = (&done, &usage_now);
        let sampler = settings
            .window
            .map(|window| s.spawn(move || sample_window_ends(window, done, read)));
        let watcher = watch.as_ref().map(|watch| {
            s.spawn(move || rebalancer::sample(rebalancer::SAMPLE_EVERY, done, &|| watch.read()))
        });
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
        let tally = watcher.map(|watcher| {
            watcher.join().unwrap_or_else(|_| {
                eprintln!("warning: the rebalancer sampler panicked; no time in band");
                Tally::default()
            })
        });
        (
            result,
            samples.unwrap_or_default(),
            tally.unwrap_or_default(),
        )
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

    // The rebalancer stops for the checks; what it paid over the run is the payer's cost.
    let status_after = watch.as_mut().and_then(Watch::halt);
    let run_totals = status_before
        .as_ref()
        .zip(status_after.as_ref())
        .map(|(before, after)| rebalancer::totals_between(&before.totals, &after.totals));
    let paid_besides: Vec<(usize, u64)> = watch
        .iter()
        .zip(&run_totals)
        .map(|(watch, totals)| (watch.payer, totals.fees_paid_msat))
        .collect();

    eprintln!("checking every payment against its payee …");
    // A splice still waiting for its blocks shows its new balance but the old capacity:
    // with blocks coming, the balances get the time for one to lock.
    let settle = invariants::SETTLE + settings.block_interval.map_or(Duration::ZERO, |b| b * 8);
    let mut checked = invariants::check_with_costs(
        &cluster,
        &result.attempts,
        &before,
        args.amount_sat * 1000,
        settle,
        &paid_besides,
    )?;
    if let Some(watch) = &mut watch {
        if watch.mode.runs() {
            match &run_totals {
                Some(totals) => {
                    let daily_msat = status_before
                        .as_ref()
                        .and_then(|s| s.settings.as_ref())
                        .map(|s| s.daily_budget_msat)
                        .or(watch.config.map(|c| c.daily_budget_sat * 1000))
                        .unwrap_or(u64::MAX);
                    checked.violations.extend(rebalancer::budget_violations(
                        watch.mode, totals, daily_msat, &tally,
                    ));
                }
                None => watch.notes.push(
                    "the rebalancer's status after the load could not be read: its fees over \
                     the run are neither checked against its budget nor counted in the payer's \
                     balance"
                        .into(),
                ),
            }
        }
        watch.resume(status_before.as_ref());
    }
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
        topology: topology(&cluster),
        load: match config.load {
            Load::Closed { concurrency } => format!("closed loop, {concurrency} in flight"),
            Load::Open { rate } => format!("open loop, {rate} payments/s"),
        },
        mode: match settings.mode {
            Mode::Quote => "quote_pay + pay".into(),
            Mode::Direct => "direct pay".into(),
        },
        amount_sat: args.amount_sat,
        max_fee_sat: settings.max_fee_sat,
        capacity_sat: cluster.capacity_sat,
        durability: "every channel-state change fsynced (group commit) before it is acted on"
            .into(),
        node_args: cluster.node_args.join(" "),
        chain,
    };
    let mut report = report::summarise(&result, nodes, checked, conditions)?;
    report.windows = windows;
    report.rebalancer = watch
        .map(|watch| watch.report(&tally, run_totals, status_after.as_ref(), &result.attempts));
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
    fn the_rebalance_scenario_runs_the_rebalancer_unless_told_otherwise() {
        let parse = |args: &[&str]| {
            let mut all = vec!["sluice-loadtest"];
            all.extend_from_slice(args);
            settings(&Args::try_parse_from(all).unwrap())
        };
        let rebalance = parse(&["--scenario", "rebalance"]);
        assert_eq!(rebalance.topology, Topology::Detour);
        assert_eq!(rebalance.rebalancer, Rebalancer::On);
        assert_eq!(rebalance.max_fee_sat, 1);
        assert_eq!(rebalance.rate, Some(4.0));
        let off = parse(&["--scenario", "rebalance", "--rebalancer", "off"]);
        assert_eq!(
            off,
            Settings {
                rebalancer: Rebalancer::Off,
                ..rebalance
            }
        );
        assert_eq!(
            parse(&["--scenario", "rebalance", "--rebalancer", "dry-run"]).rebalancer,
            Rebalancer::DryRun
        );
        // Flags over the scenario: a closed loop, another fee ceiling.
        let closed = parse(&[
            "--scenario",
            "rebalance",
            "--concurrency",
            "2",
            "--max-fee-sat",
            "5",
        ]);
        assert_eq!(
            (closed.rate, closed.concurrency, closed.max_fee_sat),
            (None, 2, 5)
        );
        assert_eq!(
            parse(&["--scenario", "rebalance", "--rate", "2"]).rate,
            Some(2.0)
        );
        // Elsewhere off, with the old fee ceiling, unless asked.
        let plain = parse(&[]);
        assert_eq!(
            (plain.rebalancer, plain.max_fee_sat, plain.rate),
            (Rebalancer::Off, 100, None)
        );
        assert_eq!(parse(&["--rebalancer", "on"]).rebalancer, Rebalancer::On);
        let detour = parse(&["--topology", "detour"]);
        assert_eq!((detour.topology, detour.nodes), (Topology::Detour, 4));
        assert_eq!(parse(&["--topology", "ring"]).nodes, 3);
        for bad in [
            &["--rebalancer", "maybe"][..],
            &["--rebalancer", "on", "--reuse", "cluster.json"],
        ] {
            let mut all = vec!["sluice-loadtest"];
            all.extend_from_slice(bad);
            assert!(Args::try_parse_from(all).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_detours_topology_names_its_channel_sizes() {
        let manifest = Manifest {
            topology: Topology::Detour,
            capacity_sat: 2_000_000,
            plan: ClusterSpec {
                topology: Topology::Detour,
                nodes: 4,
                capacity_sat: 2_000_000,
            }
            .plan()
            .unwrap(),
            nodes: Vec::new(),
            node_args: Vec::new(),
        };
        assert_eq!(
            topology(&manifest),
            "detour of 0 (direct channel 2000000 sat, the others 8000000 sat)"
        );
        assert_eq!(payer(&manifest.plan), 0);
    }

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
