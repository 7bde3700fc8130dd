//! The rebalancer's routes on a node run in this process: without a `[rebalancer]`
//! section the state says the node does not rebalance and the kill switch is
//! `not_enabled`; with one, the Rebalancer actor answers the state, holds the kill
//! switch and refuses settings for a channel the node does not have or a bad band.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use clap::Parser;
use serde_json::Value;
use sluice_node::config::{load, RunArgs};
use sluice_node::run::RunningNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

const ADMIN: &str = "node-test-admin-token";
const READ: &str = "node-test-read-token";

/// A node on the embedded chain with an admin and a read token, and `file` as its
/// config file if given.
async fn start(dir: &std::path::Path, file: Option<&str>) -> RunningNode {
    let tokens = format!(
        "{}:admin,{}:read",
        sluice_api::hash_token(ADMIN),
        sluice_api::hash_token(READ)
    );
    let data_dir = dir.join("node");
    let mut argv: Vec<String> = [
        "sluice",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--embedded-chain",
        "--listen",
        "127.0.0.1:0",
        "--api-addr",
        "127.0.0.1:0",
        "--api-token-sha256",
        &tokens,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(text) = file {
        let path = dir.join("sluice.toml");
        std::fs::write(&path, text).unwrap();
        argv.extend(["--config".to_owned(), path.display().to_string()]);
    }
    let config = load(Cli::parse_from(argv).run, |_| None).unwrap();
    RunningNode::start(config).await.unwrap()
}

/// One plain HTTP request: the status and the body as JSON.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n"
    );
    match body {
        Some(body) => request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => request.push_str("Content-Length: 0\r\n\r\n"),
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn channel_path(channel_id: &str) -> String {
    sluice_api_types::paths::fill(
        sluice_api_types::paths::REBALANCER_CHANNEL,
        &[("channel_id", channel_id)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_section_the_node_does_not_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), None).await;
    let addr = node.api_addr();

    let (status, state) = call(addr, "GET", "/v1/rebalancer", READ, None).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["enabled"], false);
    assert_eq!(
        state["note"],
        "no [rebalancer] section: the node does not rebalance"
    );
    assert_eq!(state["channels"], Value::Array(Vec::new()));
    assert!(state.get("settings").is_none(), "{state}");

    let halt = r#"{"reason":"maintenance"}"#;
    for (method, path, body) in [
        ("POST", "/v1/rebalancer/halt".to_owned(), Some(halt)),
        ("POST", "/v1/rebalancer/resume".to_owned(), None),
        ("PUT", channel_path(&"11".repeat(32)), Some("{}")),
    ] {
        let (status, answer) = call(addr, method, &path, ADMIN, body).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_enabled", "{answer}");
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_section_the_rebalancer_answers_and_holds_its_kill_switch() {
    let dir = tempfile::tempdir().unwrap();
    let file = "[rebalancer]\ndry_run = true\ndaily_budget_sat = 5000\nmax_fee_sat = 20\n";
    let node = start(dir.path(), Some(file)).await;
    let addr = node.api_addr();

    // The actor may still be starting when the API first serves.
    let mut state = Value::Null;
    for _ in 0..100 {
        let (status, answer) = call(addr, "GET", "/v1/rebalancer", READ, None).await;
        state = answer;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["enabled"], true, "{state}");
    assert_eq!(state["dry_run"], true);
    assert_eq!(state["settings"]["daily_budget_msat"], 5_000_000);
    assert_eq!(state["settings"]["max_fee_msat"], 20_000);
    // No pool: nothing to spend.
    assert_eq!(state["budget"]["left_msat"], 0);
    assert!(state.get("halted").is_none(), "{state}");

    let (status, halted) = call(
        addr,
        "POST",
        "/v1/rebalancer/halt",
        ADMIN,
        Some(r#"{"reason":" maintenance "}"#),
    )
    .await;
    assert_eq!(status, 200, "{halted}");
    assert_eq!(halted["halted"]["reason"], "maintenance");
    let (_, state) = call(addr, "GET", "/v1/rebalancer", READ, None).await;
    assert_eq!(state["halted"]["reason"], "maintenance");
    let (status, answer) = call(addr, "POST", "/v1/rebalancer/halt", READ, Some("{}")).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (403, &"forbidden".into())
    );

    let (status, resumed) = call(addr, "POST", "/v1/rebalancer/resume", ADMIN, None).await;
    assert_eq!(status, 200, "{resumed}");
    assert!(resumed.get("halted").is_none(), "{resumed}");

    // The node has no channels: any is unknown. A bad band is refused first.
    let channel = channel_path(&"11".repeat(32));
    let (status, answer) = call(addr, "PUT", &channel, ADMIN, Some(r#"{"opted_out":true}"#)).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &"not_found".into()),
        "{answer}"
    );
    let bad_band = r#"{"band":{"min_ppm":400000,"max_ppm":600000,"deadband_ppm":150000}}"#;
    let (status, answer) = call(addr, "PUT", &channel, ADMIN, Some(bad_band)).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (400, &"invalid_request".into()),
        "{answer}"
    );
    node.stop().await.unwrap();
}
