//! Ctrl-C (SIGINT to `sluice-loadtest` alone, as a terminal sends it to the foreground
//! process group the nodes are not in) stops the set-up or the run, tears the cluster
//! down and leaves no process behind; a run stopped early still writes its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use sluice_harness::{wait_for, SluiceBinary};

const DEADLINE: Duration = Duration::from_secs(120);

/// The children of `pid`, from `/proc`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            // The parent is the fourth field of `stat`, after the `(comm)`.
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    let fields = &stat[stat.rfind(')')? + 2..];
                    fields.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit (killing it if it does not).
fn wait(mut child: Child) -> ExitStatus {
    let exited = wait_for("sluice-loadtest to exit after SIGINT", DEADLINE, || {
        Ok(child.try_wait().unwrap())
    });
    exited.unwrap_or_else(|e| {
        let _ = child.kill();
        panic!("{e}")
    })
}

/// Starts `sluice-loadtest` with `args`, its stderr to a file it can be read from while
/// it runs.
fn start(args: &[&str], out: &Path) -> (Child, std::path::PathBuf) {
    // Built up front, so the child does not build it while the test waits on it.
    SluiceBinary::for_workspace().unwrap();
    let log = out.join("stderr.log");
    let child = Command::new(env!("CARGO_BIN_EXE_sluice-loadtest"))
        .args(args)
        .arg("--out")
        .arg(out.join("report"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (child, log)
}

#[test]
fn ctrl_c_during_set_up_stops_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let (child, log) = start(&["--duration", "60s"], dir.path());
    // The chain and the three nodes are up once their processes exist.
    let seen = wait_for("the cluster's processes", DEADLINE, || {
        let seen = children(child.id());
        Ok((seen.len() >= 4).then_some(seen))
    })
    .unwrap();
    interrupt(&child);
    let status = wait(child);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stopped (Ctrl-C)"), "{stderr}");
    for pid in seen {
        assert!(!alive(pid), "process {pid} outlived the harness");
    }
    assert!(!dir.path().join("report").join("report.json").exists());
}

#[test]
fn ctrl_c_during_a_run_ends_it_with_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let (child, log) = start(
        &[
            "--duration",
            "120s",
            "--concurrency",
            "2",
            "--mode",
            "direct",
        ],
        dir.path(),
    );
    wait_for("the cluster to be ready", DEADLINE, || {
        let stderr = std::fs::read_to_string(&log).unwrap();
        Ok(stderr.contains("cluster ready").then_some(()))
    })
    .unwrap();
    let seen = children(child.id());
    assert_eq!(seen.len(), 4, "the chain and three nodes");
    std::thread::sleep(Duration::from_secs(2));
    interrupt(&child);
    let status = wait(child);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{stderr}");
    for pid in seen {
        assert!(!alive(pid), "process {pid} outlived the harness");
    }
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("report").join("report.json")).unwrap(),
    )
    .unwrap();
    assert!(report["succeeded"].as_u64().unwrap() > 0, "{report}");
    assert!(report["elapsed_secs"].as_f64().unwrap() < 60.0, "{report}");
    assert_eq!(report["invariants"]["violations"], serde_json::json!([]));
    for chart in ["latency.svg", "timeline.svg", "report.md"] {
        assert!(dir.path().join("report").join(chart).exists(), "{chart}");
    }
}
