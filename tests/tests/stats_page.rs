//! The `/stats` page in a real browser: Debian's Chromium, headless, loads it from a
//! running node (it sends `Accept: text/html` as browsers do) and renders the figures
//! and the chart.
//!
//! Opt-in (`cargo test -p sluice-tests --test stats_page -- --ignored`): CI does not
//! install a browser. Needs `chromium` on `PATH` (`apt-get install chromium`) or its path
//! in `SLUICE_CHROMIUM`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use sluice_api_types::CreatePoolRequest;

fn chromium() -> String {
    std::env::var("SLUICE_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

#[test]
#[ignore = "needs Chromium: apt-get install chromium, then run with --ignored"]
fn the_stats_page_renders_in_headless_chromium() {
    let binary = binary();
    let pair = funded_pair(&binary);
    let (a, b) = (&pair.a, &pair.b);
    b.client()
        .create_pool(&CreatePoolRequest {
            pool_id: "main".into(),
            name: None,
            partitions: None,
        })
        .unwrap();
    pay(a, b, "for the page");
    let url = format!("http://{}/stats", b.api_addr());
    let profile = b.data_dir().join("chromium-profile");
    let screenshot = b.data_dir().join("stats.png");
    let run = |extra: &[String]| {
        let out = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--window-size=900,1200",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs (apt-get install chromium, or set SLUICE_CHROMIUM)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The DOM as the browser built it: the figures' table, the pool, the chart's bars.
    let dom = run(&["--dump-dom".to_owned()]);
    assert!(dom.contains("<table id=\"figures\">"), "{dom}");
    assert!(dom.contains("Total liquidity"), "{dom}");
    assert!(dom.contains("Pool main NAV"), "{dom}");
    assert!(dom.contains("Latest proof snapshot"), "{dom}");
    assert_eq!(dom.matches("class=\"bar\"").count(), 24, "{dom}");
    // And it paints: a non-empty PNG.
    run(&[format!("--screenshot={}", screenshot.display())]);
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{} bytes",
        png.len()
    );
}
