//! The allocator's own account of memory, exported as `sluice_allocator_bytes{kind}`.
//!
//! A node's RSS alone cannot say whether a rise is live data (something holding more
//! and more), memory the allocator keeps for reuse, or fragmentation. jemalloc knows:
//! `allocated` is what the program holds, `active` the pages those allocations occupy,
//! `resident` what is in RAM (about RSS minus code), `retained` address space kept for
//! reuse, `metadata` jemalloc's own. Read at each `/metrics` scrape, not sampled.

/// Sets the `sluice_allocator_bytes{kind}` gauges from jemalloc's statistics. A failed
/// read leaves the gauges as they were (logged at debug): statistics are for operators,
/// never a reason to fail a scrape.
#[cfg(not(target_env = "msvc"))]
pub fn record_stats() {
    use tikv_jemalloc_ctl::{epoch, stats};

    // jemalloc caches its statistics; advancing the epoch refreshes them.
    if let Err(e) = epoch::advance() {
        tracing::debug!(error = %e, "allocator statistics unavailable");
        return;
    }
    let readings = [
        ("allocated", stats::allocated::read()),
        ("active", stats::active::read()),
        ("resident", stats::resident::read()),
        ("retained", stats::retained::read()),
        ("metadata", stats::metadata::read()),
    ];
    for (kind, reading) in readings {
        match reading {
            Ok(bytes) => {
                metrics::gauge!("sluice_allocator_bytes", "kind" => kind).set(bytes as f64)
            }
            Err(e) => tracing::debug!(kind, error = %e, "allocator statistic unavailable"),
        }
    }
}

/// Without jemalloc there is nothing to read.
#[cfg(target_env = "msvc")]
pub fn record_stats() {}
