//! A running cluster as the load driver sees it: each node's API address, admin token
//! and process id, and the plan it was built to. A [`Cluster`] gives one for its own
//! processes; `sluice-loadtest --hold` writes one to `cluster.json` and keeps the cluster
//! up, and `--reuse cluster.json` drives a later run against it without building a new
//! one.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, Plan, Topology};
use crate::{ApiClient, Error};

/// One node of a running cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The node's name in the harness (`node-0`, …).
    pub name: String,
    /// Its Lightning node id, hex.
    pub node_id: String,
    /// Its HTTP API address.
    pub api_addr: SocketAddr,
    /// A token with the admin scope.
    pub admin_token: String,
    /// Its process id, for CPU and memory figures (absent where it is not known).
    pub pid: Option<u32>,
}

impl Endpoint {
    /// An API client with the admin token.
    pub fn client(&self) -> ApiClient {
        ApiClient::new(self.api_addr, Some(self.admin_token.clone()))
    }
}

/// A running cluster: its shape and its nodes, in plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// How the nodes are connected.
    pub topology: Topology,
    /// Each channel's capacity when it was opened, sat (the detour's wide channels hold a
    /// multiple: [`Topology::channel_capacity_sat`]).
    pub capacity_sat: u64,
    /// The channels and payer→payee pairs.
    pub plan: Plan,
    /// The nodes; `plan` indexes into them.
    pub nodes: Vec<Endpoint>,
    /// The `sluice run` flags the nodes were started with beyond the harness's own (for
    /// example `--skip-forward-delay`), for the report's conditions.
    pub node_args: Vec<String>,
}

impl Manifest {
    /// The manifest of `cluster`'s processes.
    pub fn of(cluster: &Cluster) -> Manifest {
        Manifest {
            topology: cluster.spec.topology,
            capacity_sat: cluster.spec.capacity_sat,
            plan: cluster.plan.clone(),
            nodes: cluster
                .nodes
                .iter()
                .map(|n| Endpoint {
                    name: n.name().to_owned(),
                    node_id: n.node_id().to_owned(),
                    api_addr: n.api_addr(),
                    admin_token: n.admin_token().to_owned(),
                    pid: n.pid(),
                })
                .collect(),
            node_args: cluster
                .nodes
                .first()
                .map(|n| n.options().extra_args.clone())
                .unwrap_or_default(),
        }
    }

    /// Reads a manifest written by [`Manifest::write`], checking that its plan names
    /// only its own nodes.
    pub fn read(path: &Path) -> Result<Manifest, Error> {
        let bytes =
            std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Usage(format!("{} is not a cluster manifest: {e}", path.display()))
        })?;
        let n = manifest.nodes.len();
        let plan = &manifest.plan;
        let in_range = plan
            .channels
            .iter()
            .chain(&plan.pairs)
            .all(|&(a, b)| a < n && b < n && a != b);
        if !in_range || plan.pairs.is_empty() {
            return Err(Error::Usage(format!(
                "{}: the plan names nodes the manifest does not have, or no payer→payee pair",
                path.display()
            )));
        }
        Ok(manifest)
    }

    /// Writes the manifest to `path`, readable by its owner only (it holds admin tokens).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Unexpected(format!("encoding the manifest: {e}")))?;
        let io = Error::io(format!("writing {}", path.display()));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(&json))
            .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Topology;

    fn manifest() -> Manifest {
        Manifest {
            topology: Topology::Line,
            capacity_sat: 1_000_000,
            plan: Plan {
                channels: vec![(0, 1)],
                pairs: vec![(0, 1)],
            },
            nodes: ["a", "b"]
                .into_iter()
                .enumerate()
                .map(|(i, name)| Endpoint {
                    name: name.into(),
                    node_id: format!("{i:066}"),
                    api_addr: SocketAddr::from(([127, 0, 0, 1], 3000 + i as u16)),
                    admin_token: "secret".into(),
                    pid: Some(100 + i as u32),
                })
                .collect(),
            node_args: vec!["--skip-forward-delay".into()],
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written_for_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.json");
        manifest().write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_manifest_whose_plan_names_missing_nodes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.json");
        for plan in [
            Plan {
                channels: vec![(0, 2)],
                pairs: vec![(0, 1)],
            },
            Plan {
                channels: vec![(0, 1)],
                pairs: vec![(1, 1)],
            },
            Plan {
                channels: vec![(0, 1)],
                pairs: vec![],
            },
        ] {
            let bad = Manifest { plan, ..manifest() };
            bad.write(&path).unwrap();
            assert!(matches!(Manifest::read(&path), Err(Error::Usage(_))));
        }
        std::fs::write(&path, b"{}").unwrap();
        assert!(matches!(Manifest::read(&path), Err(Error::Usage(_))));
        assert!(matches!(
            Manifest::read(&dir.path().join("absent.json")),
            Err(Error::Io { .. })
        ));
    }
}
