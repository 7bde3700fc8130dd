//! `sluice regtest-chain` as its own process: the ready line, RPC over loopback, Basic
//! auth, a clean exit on SIGTERM and a chain that survives the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use crate::common::{address, Rpc};
use serde_json::json;

/// The chain process; killed if a test panics before stopping it.
struct ChainProcess {
    child: Child,
    addr: SocketAddr,
}

/// `sluice regtest-chain` on a free loopback port over `dir`.
fn chain_command(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args([
            "regtest-chain",
            "--rpc-addr",
            "127.0.0.1:0",
            "--rpc-user",
            "u",
            "--rpc-password",
            "p",
        ])
        .arg("--data-dir")
        .arg(dir);
    command
}

impl ChainProcess {
    fn start(dir: &std::path::Path) -> Self {
        let mut child = chain_command(dir).stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("sluice regtest-chain: RPC ready at http://")
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
        ChainProcess {
            child,
            addr: url.parse().unwrap(),
        }
    }

    /// Sends SIGTERM and returns whether the process exited successfully.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        self.child.wait().unwrap().success()
    }
}

impl Drop for ChainProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_rpc_exits_cleanly_and_keeps_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::start(dir.path());
    let rpc = Rpc::new(chain.addr, "u", "p");
    assert_eq!(rpc.height(), 0);
    let hashes = rpc.mine(3, &address(1));

    let (status, body) = Rpc::new(chain.addr, "u", "wrong").post(r#"{"method":"getblockcount"}"#);
    assert_eq!((status, body.as_str()), (401, ""));

    assert!(
        chain.terminate(),
        "SIGTERM must stop the chain with exit code 0"
    );

    let chain = ChainProcess::start(dir.path());
    let rpc = Rpc::new(chain.addr, "u", "p");
    assert_eq!(rpc.height(), 3);
    assert_eq!(rpc.call("getbestblockhash", json!([])), json!(hashes[2]));
    assert!(chain.terminate());
}

#[test]
fn refuses_a_directory_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = ChainProcess::start(dir.path());
    let output = chain_command(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another process is using the chain directory"),
        "{stderr}"
    );
}
