//! The processes of a regtest cluster: the `sluice` binary, the chain and the nodes.
//!
//! Every process runs on 127.0.0.1 in its own temporary directory (removed when its
//! handle drops) and is started the way an operator would start it, from flags only:
//! `SLUICE_*` variables of the caller's environment are not passed on (except
//! `SLUICE_LOG`, to turn up logging while debugging a test).
//!
//! - Ports: the first start binds port 0 (`--listen 127.0.0.1:0 --api-addr 127.0.0.1:0`,
//!   `--rpc-addr 127.0.0.1:0`) and reads the real addresses from the ready line; a restart
//!   asks for the same addresses again, as a node with a fixed configuration would, so
//!   peers that remembered the address can reconnect.
//! - Output: each run's stdout and stderr go to files in the handle's directory
//!   (`logs/<name>.<run>.stdout|stderr`), so a chatty process never blocks on a full
//!   pipe; [`NodeProcess::stderr`] reads the current run's. When a handle drops during a
//!   panic, the end of its process's stderr is printed to the test output.
//! - Stopping: [`NodeProcess::stop`] sends SIGTERM (through `kill -TERM`, as the
//!   workspace forbids `unsafe` and so `libc::kill`) and waits for the exit status;
//!   [`NodeProcess::kill`] sends SIGKILL. Dropping a handle SIGKILLs a process still
//!   running, so a failing test leaves no orphans behind. (A test process that is itself
//!   SIGKILLed cannot clean up; its children then run until stopped by hand.)
//!
//! # Which `sluice` binary
//!
//! [`SluiceBinary::for_workspace`] finds the binary of this workspace's target directory,
//! next to the running executable: `target/<profile>/sluice` for a test executable in
//! `target/<profile>/deps/`. Cargo does not build the binaries of a dependency package,
//! so the harness makes sure the binary exists and is current itself:
//!
//! - `cargo test --workspace` (what CI runs) builds it anyway, because `sluice-node`
//!   has integration tests and cargo builds a package's binaries for its integration
//!   tests, all before running any test. The binary is then newer than its sources and
//!   the harness uses it as is.
//! - Otherwise (`cargo test -p sluice-tests`, or sources edited since the last build)
//!   the harness runs `cargo build -p sluice-node --bin sluice` once per test process,
//!   with the same profile and target directory, and uses the result. "Current" is
//!   judged like cargo does, by modification times: the binary must be newer than the
//!   workspace `Cargo.toml` and `Cargo.lock` and the sources of `node`, `api`,
//!   `api-types`, `actors`, `storage`, `pool` and `credit` (the `.rs` files under their
//!   `src/`, their `Cargo.toml` and `build.rs`). A file outside that list (an `include_str!` asset)
//!   is not watched.
//!
//! The harness does not simply always run `cargo build -p sluice-node --bin sluice`:
//! building one package resolves features differently from building the whole workspace
//! (resolver 2 unifies features over the packages selected), so after
//! `cargo test --workspace` that command would compile a second variant of most of the
//! dependency graph (bitcoin, lightning, bdk, …), minutes in CI.
//!
//! `SLUICE_BIN=/path/to/sluice` skips all of this and uses that file; it is needed when
//! the executable does not run from a cargo profile directory (one with `.fingerprint/`),
//! where the harness never builds.

use std::ffi::OsString;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use bitcoin_hashes::hex::DisplayHex;
use bitcoin_hashes::{sha256, Hash};
use tempfile::TempDir;

use crate::client::{ApiClient, ChainRpc};
use crate::Error;

/// How long a process may take to print its ready line (debug builds are slow).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The environment variable naming an explicit `sluice` binary.
pub const BINARY_ENV: &str = "SLUICE_BIN";

/// The prefix of `sluice regtest-chain`'s ready line; the RPC address follows.
const CHAIN_READY: &str = "sluice regtest-chain: RPC ready at http://";
/// The prefix of `sluice run`'s ready line: `sluice: API at http://ADDR, peers at ADDR`.
const NODE_READY: &str = "sluice: API at http://";
/// The crates the binary is built from, for the staleness check.
const BINARY_CRATES: &[&str] = &[
    "node",
    "api",
    "api-types",
    "actors",
    "storage",
    "pool",
    "credit",
    "nostr",
    "rebalance",
];
/// How many lines of stderr an error or a panic shows.
const STDERR_TAIL_LINES: usize = 40;
/// How often a starting or stopping process is checked on (its ready line, its exit).
const PROCESS_POLL: Duration = Duration::from_millis(20);

/// The `sluice` executable the harness runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SluiceBinary {
    path: PathBuf,
}

impl SluiceBinary {
    /// The binary at `path`, which must be a file.
    pub fn at(path: impl Into<PathBuf>) -> Result<SluiceBinary, Error> {
        let path = path.into();
        if !path.is_file() {
            return Err(Error::Binary(format!("{} is not a file", path.display())));
        }
        Ok(SluiceBinary { path })
    }

    /// The workspace's binary: `$SLUICE_BIN` if set, else `target/<profile>/sluice`,
    /// built first if it is missing or older than its sources (see the module docs).
    /// Located once per process.
    pub fn for_workspace() -> Result<SluiceBinary, Error> {
        static LOCATED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        LOCATED
            .get_or_init(|| locate_or_build().map_err(|e| e.to_string()))
            .clone()
            .map(|path| SluiceBinary { path })
            .map_err(Error::Binary)
    }

    /// The binary's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A command running the binary, with the caller's `SLUICE_*` variables removed
    /// (`SLUICE_LOG` is kept), logs without colours (`NO_COLOR`) and stdin closed.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.env("NO_COLOR", "1");
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("SLUICE_") && name != "SLUICE_LOG" {
                command.env_remove(&key);
            }
        }
        command.stdin(Stdio::null());
        command
    }
}

fn locate_or_build() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        return SluiceBinary::at(PathBuf::from(path)).map(|b| b.path);
    }
    let exe = std::env::current_exe().map_err(Error::io("locating the test executable"))?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| Error::Binary(format!("{} has no directory", exe.display())))?;
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let binary = dir.join("sluice");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .filter(|root| root.join("Cargo.toml").is_file());
    // Build only into a cargo profile directory of this workspace.
    let Some(root) = root.filter(|_| dir.join(".fingerprint").is_dir()) else {
        return SluiceBinary::at(&binary).map(|b| b.path).map_err(|e| {
            Error::Binary(format!(
                "{e}; not in a cargo target directory, so set {BINARY_ENV}"
            ))
        });
    };
    if is_current(&binary, root) {
        return Ok(binary);
    }
    build(root, dir)?;
    SluiceBinary::at(&binary).map(|b| b.path).map_err(|e| {
        Error::Binary(format!(
            "{e} after `cargo build -p sluice-node --bin sluice`"
        ))
    })
}

/// Whether `binary` exists and is newer than every source it is built from.
fn is_current(binary: &Path, root: &Path) -> bool {
    let Some(built) = modified(binary) else {
        return false;
    };
    let mut newest = [root.join("Cargo.toml"), root.join("Cargo.lock")]
        .iter()
        .filter_map(|path| modified(path))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    for krate in BINARY_CRATES {
        let dir = root.join(krate);
        for file in [dir.join("Cargo.toml"), dir.join("build.rs")] {
            newest = newest.max(modified(&file).unwrap_or(SystemTime::UNIX_EPOCH));
        }
        newest = newest.max(newest_in(&dir.join("src")));
    }
    built >= newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the `.rs` files under `dir`.
fn newest_in(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = fs::read_dir(dir) else {
        return newest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let time = match entry.file_type() {
            Ok(kind) if kind.is_dir() => newest_in(&path),
            _ if path.extension().is_some_and(|e| e == "rs") => modified(&path).unwrap_or(newest),
            _ => newest,
        };
        newest = newest.max(time);
    }
    newest
}

/// Runs `cargo build -p sluice-node --bin sluice` for the profile whose output
/// directory is `profile_dir` (`target/debug` → `dev`).
fn build(root: &Path, profile_dir: &Path) -> Result<(), Error> {
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .args(["build", "-p", "sluice-node", "--bin", "sluice", "--profile"])
        .arg(&profile)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .stdin(Stdio::null());
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    eprintln!(
        "sluice-harness: building the sluice binary ({profile} profile): it is missing or \
         older than its sources"
    );
    let status = command.status().map_err(Error::io(
        "running `cargo build -p sluice-node --bin sluice`",
    ))?;
    if !status.success() {
        return Err(Error::Binary(format!(
            "`cargo build -p sluice-node --bin sluice` failed with {status}"
        )));
    }
    Ok(())
}

/// What `--api-token-sha256` takes for `token`: its SHA-256, lowercase hex.
fn token_digest(token: &str) -> String {
    sha256::Hash::hash(token.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}

/// Random lowercase hex of `bytes` bytes from the operating system.
pub(crate) fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Unexpected(format!("no randomness from the system: {e}")))?;
    Ok(buf.to_lower_hex_string())
}

/// The last `lines` lines of the file at `path` (empty if it cannot be read).
/// Each "panicked at" line of the file at `path` with the message line after it: a
/// process's panic can scroll out of its tail behind the backtrace.
fn panics(path: &Path) -> String {
    let text = fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (at, line) in all.iter().enumerate() {
        if line.contains("panicked at") {
            found.push(*line);
            if let Some(message) = all.get(at + 1) {
                found.push(*message);
            }
        }
    }
    found.join("\n")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One run of a process, killed when dropped.
#[derive(Debug)]
struct Running {
    name: String,
    child: Child,
    stderr: PathBuf,
    /// Set once the exit status was collected.
    exited: Option<ExitStatus>,
}

impl Running {
    /// Spawns `command` with its output in `logs`, waits for a stdout line starting
    /// with `ready`, and returns the process with the rest of that line.
    fn spawn(
        name: &str,
        mut command: Command,
        logs: &Path,
        run: u32,
        ready: &str,
        timeout: Duration,
    ) -> Result<(Running, String), Error> {
        fs::create_dir_all(logs).map_err(Error::io(format!("creating {}", logs.display())))?;
        let stdout_path = logs.join(format!("{name}.{run}.stdout"));
        let stderr_path = logs.join(format!("{name}.{run}.stderr"));
        let create = |path: &Path| {
            File::create(path).map_err(Error::io(format!("creating {}", path.display())))
        };
        if crate::ctrl_c_handled() {
            // See `stop_on_ctrl_c`: the harness stops its processes itself.
            command.process_group(0);
        }
        command
            .stdout(create(&stdout_path)?)
            .stderr(create(&stderr_path)?);
        let child = command
            .spawn()
            .map_err(Error::io(format!("starting {name} ({command:?})")))?;
        let mut running = Running {
            name: name.to_owned(),
            child,
            stderr: stderr_path,
            exited: None,
        };
        let started = Instant::now();
        loop {
            let exited = running.poll()?;
            let stdout = fs::read(&stdout_path).unwrap_or_default();
            let stdout = String::from_utf8_lossy(&stdout);
            // Complete lines only.
            let complete = &stdout[..stdout.rfind('\n').map_or(0, |end| end + 1)];
            let line = complete.lines().find_map(|line| line.strip_prefix(ready));
            if let Some(rest) = line {
                let rest = rest.trim().to_owned();
                return Ok((running, rest));
            }
            if let Some(status) = exited {
                return Err(Error::Exited {
                    name: name.to_owned(),
                    status,
                    stderr: tail(&running.stderr, STDERR_TAIL_LINES),
                });
            }
            if crate::stop_requested() {
                let _ = running.kill();
                return Err(Error::Stopped(format!("{name} to start")));
            }
            if started.elapsed() >= timeout {
                let _ = running.kill();
                return Err(Error::Timeout {
                    what: format!(
                        "{name} to print {ready:?}; its stderr ends with:\n{}",
                        tail(&running.stderr, STDERR_TAIL_LINES)
                    ),
                    after: timeout,
                });
            }
            std::thread::sleep(PROCESS_POLL);
        }
    }

    /// The exit status, if the process has exited.
    fn poll(&mut self) -> Result<Option<ExitStatus>, Error> {
        if self.exited.is_none() {
            self.exited = self
                .child
                .try_wait()
                .map_err(Error::io(format!("waiting for {}", self.name)))?;
        }
        Ok(self.exited)
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; SIGKILLs after that.
    fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, Error> {
        if let Some(status) = self.poll()? {
            return Ok(status);
        }
        // Not reaped yet, so the pid cannot have been reused.
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(Error::io("running `kill -TERM`"))?;
        if !sent.success() {
            return Err(Error::Io {
                what: format!("`kill -TERM {pid}` ({}) failed", self.name),
                source: std::io::Error::other(sent.to_string()),
            });
        }
        let started = Instant::now();
        loop {
            if let Some(status) = self.poll()? {
                return Ok(status);
            }
            if started.elapsed() >= timeout {
                let _ = self.kill();
                return Err(Error::Timeout {
                    what: format!("{} to exit after SIGTERM (it was SIGKILLed)", self.name),
                    after: timeout,
                });
            }
            std::thread::sleep(PROCESS_POLL);
        }
    }

    /// Sends SIGKILL and reaps the process.
    fn kill(&mut self) -> Result<ExitStatus, Error> {
        if let Some(status) = self.poll()? {
            return Ok(status);
        }
        self.child
            .kill()
            .map_err(Error::io(format!("killing {}", self.name)))?;
        let status = self
            .child
            .wait()
            .map_err(Error::io(format!("waiting for {}", self.name)))?;
        self.exited = Some(status);
        Ok(status)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} (pid {}): the end of its stderr ---\n{}\n--- end of {} ---",
                self.name,
                self.child.id(),
                tail(&self.stderr, STDERR_TAIL_LINES),
                self.name
            );
            let panics = panics(&self.stderr);
            if !panics.is_empty() {
                eprintln!(
                    "--- {} panicked ---\n{panics}\n--- end of {}'s panics ---",
                    self.name, self.name
                );
            }
        }
        let _ = self.kill();
    }
}

/// A `sluice regtest-chain` process with its own chain directory. No automining: blocks
/// come from `generatetoaddress`.
#[derive(Debug)]
pub struct ChainProcess {
    binary: SluiceBinary,
    running: Option<Running>,
    rpc_addr: SocketAddr,
    password: String,
    runs: u32,
    dir: TempDir,
}

impl ChainProcess {
    /// The RPC user of every harness chain.
    pub const RPC_USER: &'static str = "sluice";

    /// Starts a chain on a free port of 127.0.0.1 in a new temporary directory.
    pub fn launch(binary: &SluiceBinary) -> Result<ChainProcess, Error> {
        let dir = tempfile::Builder::new()
            .prefix("sluice-chain-")
            .tempdir()
            .map_err(Error::io("creating the chain's directory"))?;
        let mut chain = ChainProcess {
            binary: binary.clone(),
            running: None,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            password: random_hex(16)?,
            runs: 0,
            dir,
        };
        chain.start()?;
        Ok(chain)
    }

    /// Starts the chain again after [`ChainProcess::stop`] or [`ChainProcess::kill`], on
    /// the same directory and port.
    pub fn start(&mut self) -> Result<(), Error> {
        if self.running.is_some() {
            return Err(Error::Usage("the chain is already running".into()));
        }
        let mut command = self.binary.command();
        command
            .arg("regtest-chain")
            .arg("--data-dir")
            .arg(self.dir.path().join("chain"))
            .arg("--rpc-addr")
            .arg(self.rpc_addr.to_string())
            .args(["--rpc-user", Self::RPC_USER, "--rpc-password"])
            .arg(&self.password);
        self.runs += 1;
        let (running, rest) = Running::spawn(
            "chain",
            command,
            &self.dir.path().join("logs"),
            self.runs,
            CHAIN_READY,
            READY_TIMEOUT,
        )?;
        self.rpc_addr = rest
            .parse()
            .map_err(|_| Error::Unexpected(format!("the chain's ready line ends with {rest:?}")))?;
        self.running = Some(running);
        Ok(())
    }

    /// Stops the chain with SIGTERM and returns its exit status.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        stop(&mut self.running, STOP_TIMEOUT)
    }

    /// Stops the chain with SIGKILL.
    pub fn kill(&mut self) -> Result<ExitStatus, Error> {
        kill(&mut self.running)
    }

    /// The JSON-RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// A JSON-RPC client of the chain.
    pub fn rpc(&self) -> ChainRpc {
        ChainRpc::new(self.rpc_addr, Self::RPC_USER, &self.password)
    }

    /// The chain's RPC password (the user is [`ChainProcess::RPC_USER`]).
    pub fn rpc_password(&self) -> &str {
        &self.password
    }

    /// The URL for `sluice run --bitcoind-rpc`: `http://USER:PASS@127.0.0.1:PORT`.
    pub fn bitcoind_rpc_url(&self) -> String {
        format!(
            "http://{}:{}@{}",
            Self::RPC_USER,
            self.password,
            self.rpc_addr
        )
    }

    /// The current (or last) run's stderr.
    pub fn stderr(&self) -> String {
        let file = format!("chain.{}.stderr", self.runs);
        tail(&self.dir.path().join("logs").join(file), usize::MAX)
    }
}

fn stop(running: &mut Option<Running>, timeout: Duration) -> Result<ExitStatus, Error> {
    let mut process = running
        .take()
        .ok_or_else(|| Error::Usage("the process is not running".into()))?;
    process.terminate(timeout)
}

fn kill(running: &mut Option<Running>) -> Result<ExitStatus, Error> {
    let mut process = running
        .take()
        .ok_or_else(|| Error::Usage("the process is not running".into()))?;
    process.kill()
}

/// Where a node gets its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainSource {
    /// `--bitcoind-rpc URL` (`http://USER:PASS@HOST:PORT`).
    Rpc(String),
    /// `--embedded-chain`.
    Embedded,
}

/// How to run a node; every run of a [`NodeProcess`] uses the same options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeOptions {
    /// `--network` (`regtest`, `signet`, `bitcoin`, or anything, to test refusals).
    pub network: String,
    /// The chain source.
    pub chain: ChainSource,
    /// API tokens besides the node's admin token, as (token, scopes) with scopes joined
    /// by `+` (`read`, `pay+read`).
    pub tokens: Vec<(String, String)>,
    /// Spend budgets of tokens in [`NodeOptions::tokens`]: (token, the inline TOML table
    /// of its `budget`). With any, the tokens go to the node in a config file (budgets
    /// have no flag form), so `extra_args` must not name another `--config`.
    pub budgets: Vec<(String, String)>,
    /// Sections of the node's config file, TOML text each, every one a table under its
    /// own header (a `[rebalancer]` table, say): settings some parts of the node take
    /// from the file only. They follow the tokens' tables in the file. With any, the node gets
    /// a config file the harness writes (with the tokens, as for budgets), so
    /// `extra_args` must not name another `--config`.
    pub config_sections: Vec<String>,
    /// More flags after the harness's own.
    pub extra_args: Vec<String>,
    /// How long a start may take before the harness gives up.
    pub ready_timeout: Duration,
}

impl NodeOptions {
    /// A regtest node following `chain`.
    pub fn regtest(chain: &ChainProcess) -> NodeOptions {
        NodeOptions {
            network: "regtest".into(),
            chain: ChainSource::Rpc(chain.bitcoind_rpc_url()),
            tokens: Vec::new(),
            budgets: Vec::new(),
            config_sections: Vec::new(),
            extra_args: Vec::new(),
            ready_timeout: READY_TIMEOUT,
        }
    }

    /// A regtest node running the embedded chain in its own process (`--embedded-chain`).
    pub fn embedded() -> NodeOptions {
        NodeOptions {
            network: "regtest".into(),
            chain: ChainSource::Embedded,
            tokens: Vec::new(),
            budgets: Vec::new(),
            config_sections: Vec::new(),
            extra_args: Vec::new(),
            ready_timeout: READY_TIMEOUT,
        }
    }

    /// These options with another network.
    pub fn network(mut self, network: &str) -> NodeOptions {
        self.network = network.to_owned();
        self
    }

    /// These options with another API token (`scopes` like `pay+read`).
    pub fn token(mut self, token: &str, scopes: &str) -> NodeOptions {
        self.tokens.push((token.to_owned(), scopes.to_owned()));
        self
    }

    /// These options with another API token (`scopes` like `pay+read`) whose spend
    /// budget is `budget`, an inline TOML table (`{ max_per_period_msat = 5000 }`).
    pub fn token_with_budget(mut self, token: &str, scopes: &str, budget: &str) -> NodeOptions {
        self.tokens.push((token.to_owned(), scopes.to_owned()));
        self.budgets.push((token.to_owned(), budget.to_owned()));
        self
    }

    /// These options with one more section of the node's config file (TOML text, such as
    /// `"[rebalancer]\ntick_secs = 1\n"`), written after the tokens.
    pub fn config_section(mut self, toml: &str) -> NodeOptions {
        self.config_sections.push(toml.to_owned());
        self
    }

    /// These options with more flags.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> NodeOptions {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// A `sluice run` node with its own data directory, started, stopped and restarted any
/// number of times; the process is SIGKILLed and the directory removed on drop.
#[derive(Debug)]
pub struct NodeProcess {
    name: String,
    binary: SluiceBinary,
    options: NodeOptions,
    admin_token: String,
    running: Option<Running>,
    api_addr: SocketAddr,
    peer_addr: SocketAddr,
    node_id: String,
    runs: u32,
    dir: TempDir,
}

impl NodeProcess {
    /// A node called `name` (used in logs and errors), not started yet: a new temporary
    /// directory and a random admin token.
    pub fn new(
        binary: &SluiceBinary,
        name: &str,
        options: NodeOptions,
    ) -> Result<NodeProcess, Error> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-node-{name}-"))
            .tempdir()
            .map_err(Error::io(format!("creating node {name}'s directory")))?;
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(NodeProcess {
            name: name.to_owned(),
            binary: binary.clone(),
            options,
            admin_token: random_hex(16)?,
            running: None,
            api_addr: unbound,
            peer_addr: unbound,
            node_id: String::new(),
            runs: 0,
            dir,
        })
    }

    /// [`NodeProcess::new`], then [`NodeProcess::start`].
    pub fn launch(
        binary: &SluiceBinary,
        name: &str,
        options: NodeOptions,
    ) -> Result<NodeProcess, Error> {
        let mut node = NodeProcess::new(binary, name, options)?;
        node.start()?;
        Ok(node)
    }

    /// Starts the node and waits for its ready line and its node id.
    ///
    /// The first start listens on free ports; later starts on the same addresses. A node
    /// that exits first answers [`Error::Exited`] with its exit status and stderr.
    pub fn start(&mut self) -> Result<(), Error> {
        if self.running.is_some() {
            return Err(Error::Usage(format!("{} is already running", self.name)));
        }
        let mut command = self.binary.command();
        command
            .arg("run")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--network", &self.options.network])
            .args(["--listen", &self.peer_addr.to_string()])
            .args(["--api-addr", &self.api_addr.to_string()]);
        match &self.options.chain {
            ChainSource::Rpc(url) => command.args(["--bitcoind-rpc", url]),
            ChainSource::Embedded => command.arg("--embedded-chain"),
        };
        let admin = (self.admin_token.clone(), "admin".to_owned());
        let tokens = std::iter::once(&admin).chain(&self.options.tokens);
        if self.options.budgets.is_empty() && self.options.config_sections.is_empty() {
            for (token, scopes) in tokens {
                command
                    .arg("--api-token-sha256")
                    .arg(format!("{}:{scopes}", token_digest(token)));
            }
        } else {
            command.arg("--config").arg(self.config_file(tokens)?);
        }
        command.args(&self.options.extra_args);

        self.runs += 1;
        let (running, rest) = Running::spawn(
            &self.name,
            command,
            &self.dir.path().join("logs"),
            self.runs,
            NODE_READY,
            self.options.ready_timeout,
        )?;
        let bad_line =
            || Error::Unexpected(format!("{}'s ready line ends with {rest:?}", self.name));
        let (api, peers) = rest.split_once(", peers at ").ok_or_else(bad_line)?;
        self.api_addr = api.parse().map_err(|_| bad_line())?;
        self.peer_addr = peers.parse().map_err(|_| bad_line())?;
        self.running = Some(running);
        self.node_id = self.client().node_info()?.node_id;
        Ok(())
    }

    /// Writes `tokens` (and their budgets) as the `[[api.tokens]]` of a config file in
    /// the node's directory, then the options' config sections; returns its path.
    fn config_file<'a>(
        &self,
        tokens: impl Iterator<Item = &'a (String, String)>,
    ) -> Result<PathBuf, Error> {
        let config_flag = |a: &String| a == "--config" || a.starts_with("--config=");
        if self.options.extra_args.iter().any(config_flag) {
            return Err(Error::Usage(format!(
                "{}: token budgets and config sections need the harness's own --config",
                self.name
            )));
        }
        let mut text = String::new();
        for (token, scopes) in tokens {
            let scopes: Vec<String> = scopes.split('+').map(|s| format!("{s:?}")).collect();
            text.push_str(&format!(
                "[[api.tokens]]\nsha256 = \"{}\"\nscopes = [{}]\n",
                token_digest(token),
                scopes.join(", ")
            ));
            if let Some((_, budget)) = self.options.budgets.iter().find(|(t, _)| t == token) {
                text.push_str(&format!("budget = {budget}\n"));
            }
        }
        for section in &self.options.config_sections {
            text.push('\n');
            text.push_str(section.trim_end());
            text.push('\n');
        }
        let path = self.dir.path().join("config.toml");
        fs::write(&path, text).map_err(Error::io(format!("writing {}", path.display())))?;
        Ok(path)
    }

    /// Stops the node with SIGTERM and returns its exit status (0 for a clean stop).
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        stop(&mut self.running, STOP_TIMEOUT)
    }

    /// Stops the node with SIGKILL, as a crash would.
    pub fn kill(&mut self) -> Result<ExitStatus, Error> {
        kill(&mut self.running)
    }

    /// Whether the node's process is running (it may have exited by itself).
    pub fn is_running(&mut self) -> bool {
        matches!(self.running.as_mut().map(Running::poll), Some(Ok(None)))
    }

    /// The process id of the current run.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// The node's name in the harness.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's `--data-dir` (it holds `seed` and `store`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The node's options.
    pub fn options(&self) -> &NodeOptions {
        &self.options
    }

    /// The options of the next start.
    pub fn options_mut(&mut self) -> &mut NodeOptions {
        &mut self.options
    }

    /// The node id (hex) read at the last start; empty before the first.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The HTTP API address (port 0 before the first start).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The Lightning peer address (port 0 before the first start).
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The admin token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// An API client with the admin token.
    pub fn client(&self) -> ApiClient {
        ApiClient::new(self.api_addr, Some(self.admin_token.clone()))
    }

    /// The current (or last) run's stderr.
    pub fn stderr(&self) -> String {
        tail(
            &self
                .dir
                .path()
                .join("logs")
                .join(format!("{}.{}.stderr", self.name, self.runs)),
            usize::MAX,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn unstarted(options: NodeOptions) -> NodeProcess {
        // Never started: only its directory and options are used.
        let binary = SluiceBinary {
            path: PathBuf::from("/nonexistent/sluice"),
        };
        NodeProcess::new(&binary, "n", options).unwrap()
    }

    #[test]
    fn config_sections_follow_the_tokens_in_the_config_file() {
        let options = NodeOptions::embedded()
            .token_with_budget("t", "pay+read", "{ max_per_period_msat = 5000 }")
            .config_section("[rebalancer]\ntick_secs = 1\n\n")
            .config_section("[nostr]\nrelays = []");
        let node = unstarted(options);
        let admin = (node.admin_token().to_owned(), "admin".to_owned());
        let tokens = std::iter::once(&admin).chain(&node.options().tokens);
        let text = fs::read_to_string(node.config_file(tokens).unwrap()).unwrap();
        let expected = format!(
            "[[api.tokens]]\nsha256 = \"{}\"\nscopes = [\"admin\"]\n\
             [[api.tokens]]\nsha256 = \"{}\"\nscopes = [\"pay\", \"read\"]\n\
             budget = {{ max_per_period_msat = 5000 }}\n\
             \n[rebalancer]\ntick_secs = 1\n\
             \n[nostr]\nrelays = []\n",
            token_digest(node.admin_token()),
            token_digest("t"),
        );
        assert_eq!(text, expected);
        // A config file of the caller's own cannot be given as well.
        for flag in ["--config", "--config=x.toml"] {
            let clash = unstarted(
                NodeOptions::embedded()
                    .config_section("[rebalancer]")
                    .args([flag]),
            );
            assert!(matches!(
                clash.config_file(std::iter::empty()),
                Err(Error::Usage(_))
            ));
        }
    }
}
