//! The server under test: `serve` in its own runtime, with a handler that answers from a
//! table of recorded answers, plus a few test methods (a panic, a wait, a large answer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_regtest::rpc::{serve, RpcError, RpcHandler, RpcServerConfig};

use super::client::Client;

/// `serve` on 127.0.0.1:0 in its own single-worker runtime (so a handler that ran on the
/// executor instead of a blocking thread would stall every other connection).
pub(super) struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    pub(super) fn start(config: RpcServerConfig, handler: Arc<dyn RpcHandler>) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, config, handler, async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not start");
        TestServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub(super) fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Triggers the shutdown and waits (bounded) for `serve` to return.
    pub(super) fn stop(mut self) -> io::Result<()> {
        drop(self.stop.take());
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "serve did not return after shutdown"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Shuts the server down without waiting for it.
        drop(self.stop.take());
    }
}

pub(super) fn config() -> RpcServerConfig {
    RpcServerConfig::new("u", "p")
}

pub(super) type Key = (Option<String>, String, String);

/// Answers calls from a table of recorded answers, plus a few test methods.
#[derive(Default)]
pub(super) struct ScriptedHandler {
    pub(super) table: Mutex<HashMap<Key, Result<Value, RpcError>>>,
    pub(super) calls: Mutex<Vec<(String, Value, Option<String>)>>,
    pub(super) count: AtomicUsize,
    pub(super) gate: Gate,
}

impl ScriptedHandler {
    pub(super) fn set_answers(&self, answers: Vec<(Key, Result<Value, RpcError>)>) {
        let mut table = self.table.lock().unwrap();
        table.clear();
        for (key, outcome) in answers {
            if let Some(previous) = table.insert(key.clone(), outcome.clone()) {
                assert_eq!(
                    previous, outcome,
                    "two recorded answers to {key:?} in one record"
                );
            }
        }
    }
}

pub(super) fn key(wallet: Option<&str>, method: &str, params: &Value) -> Key {
    (
        wallet.map(str::to_owned),
        method.to_owned(),
        params.to_string(),
    )
}

impl RpcHandler for ScriptedHandler {
    fn call(&self, method: &str, params: &Value, wallet: Option<&str>) -> Result<Value, RpcError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.calls.lock().unwrap().push((
            method.to_owned(),
            params.clone(),
            wallet.map(str::to_owned),
        ));
        match method {
            "test_panic" => panic!("boom"),
            "test_wait" => {
                self.gate.wait();
                return Ok(json!("released"));
            }
            "test_big" => {
                let n = params[0].as_u64().unwrap_or(0) as usize;
                return Ok(json!({ "hash": "ab".repeat(32), "hex": "00".repeat(n) }));
            }
            _ => {}
        }
        let table = self.table.lock().unwrap();
        match table.get(&key(wallet, method, params)) {
            Some(outcome) => outcome.clone(),
            None => Err(RpcError::new(
                -1,
                format!("no recorded answer for {method} {params}"),
            )),
        }
    }
}

/// A latch the test opens to let `test_wait` calls return.
#[derive(Default)]
pub(super) struct Gate {
    open: Mutex<bool>,
    cond: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !*open && Instant::now() < deadline {
            open = self
                .cond
                .wait_timeout(open, Duration::from_millis(100))
                .unwrap()
                .0;
        }
    }

    pub(super) fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cond.notify_all();
    }
}
