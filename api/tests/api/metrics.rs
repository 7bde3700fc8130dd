//! Request metrics, observed through a thread-local recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::Method;
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use sluice_api::middleware::{REQUESTS_TOTAL, REQUEST_SECONDS};
use sluice_api_types::paths;

use crate::common::*;

/// Counter values and histogram sample counts, keyed by `name{label=value,…}`.
#[derive(Default)]
struct Capture {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

fn render(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let counter = self
            .counters
            .lock()
            .unwrap()
            .entry(render(key))
            .or_default()
            .clone();
        Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let samples = self
            .histograms
            .lock()
            .unwrap()
            .entry(render(key))
            .or_default()
            .clone();
        Histogram::from_arc(samples)
    }
}

impl Capture {
    fn counter(&self, key: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    fn samples(&self, key: &str) -> usize {
        self.histograms
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |s| s.0.lock().unwrap().len())
    }
}

// The default test runtime is single-threaded, so the thread-local recorder sees every
// request.
#[tokio::test(flavor = "current_thread")]
async fn requests_are_counted_by_route_and_status() {
    let capture = Capture::default();
    let _guard = metrics::set_default_local_recorder(&capture);
    let app = app();

    app.get(paths::NODE_INFO, READ).await;
    app.get(paths::NODE_INFO, READ).await;
    app.get(paths::NODE_INFO, PAY).await;
    app.get(&paths::internal(paths::NODE_INFO), READ).await;
    let payment = paths::fill(paths::PAYMENT, &[("payment_id", PAYMENT_ID)]);
    app.get(&payment, READ).await;
    app.get("/no/such/route", READ).await;
    app.call(Method::PUT, paths::NODE_INFO, None, None).await;

    let counted = |route: &str, method: &str, status: u16| {
        capture.counter(&format!(
            "{REQUESTS_TOTAL}{{route={route},method={method},status={status}}}"
        ))
    };
    assert_eq!(counted(paths::NODE_INFO, "GET", 200), 2);
    assert_eq!(counted(paths::NODE_INFO, "GET", 403), 1);
    assert_eq!(counted("/internal/v1/node/info", "GET", 200), 1);
    // Templates, not concrete paths, so ids do not grow the label space.
    assert_eq!(counted(paths::PAYMENT, "GET", 200), 1);
    assert_eq!(counted("unmatched", "GET", 404), 1);
    assert_eq!(counted(paths::NODE_INFO, "PUT", 405), 1);
    assert_eq!(
        capture.samples(&format!(
            "{REQUEST_SECONDS}{{route={},method=GET}}",
            paths::NODE_INFO
        )),
        3
    );
}

#[tokio::test(flavor = "current_thread")]
async fn refused_authentication_is_counted_by_reason() {
    use axum::body::Body;
    use axum::http::Request;
    use sluice_api::auth::{FORBIDDEN_TOTAL, UNAUTHENTICATED_TOTAL};
    use sluice_api::rate_limit::RATE_LIMITED_TOTAL;
    use sluice_api::{ApiConfig, RateLimit};

    let capture = Capture::default();
    let _guard = metrics::set_default_local_recorder(&capture);
    let app = app_with(ApiConfig {
        auth: auth_config(),
        rate_limit: RateLimit {
            per_second: 1,
            burst: 1,
        },
        ..ApiConfig::default()
    });

    app.call(Method::GET, paths::NODE_INFO, None, None).await;
    app.call(Method::GET, paths::NODE_INFO, None, None).await;
    let malformed = Request::get(paths::NODE_INFO)
        .header("authorization", format!("Basic {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    app.send(malformed)
        .await
        .assert_error(401, "unauthenticated");
    app.get(paths::NODE_INFO, "not-a-token")
        .await
        .assert_error(401, "unauthenticated");
    app.get(paths::NODE_INFO, READ).await;
    app.post(paths::PEERS, READ, "{}")
        .await
        .assert_error(403, "forbidden");
    let keysend = format!(r#"{{"node_id":"{PEER_ID}","amount_msat":1000}}"#);
    app.post(paths::KEYSEND, PAY, &keysend).await;
    app.post(paths::KEYSEND, PAY, &keysend)
        .await
        .assert_error(429, "rate_limited");

    let unauthenticated =
        |reason: &str| capture.counter(&format!("{UNAUTHENTICATED_TOTAL}{{reason={reason}}}"));
    assert_eq!(unauthenticated("missing"), 2);
    assert_eq!(unauthenticated("malformed"), 1);
    assert_eq!(unauthenticated("unknown"), 1);
    assert_eq!(
        capture.counter(&format!("{FORBIDDEN_TOTAL}{{route={}}}", paths::PEERS)),
        1
    );
    assert_eq!(
        capture.counter(&format!("{RATE_LIMITED_TOTAL}{{route={}}}", paths::KEYSEND)),
        1
    );
}
