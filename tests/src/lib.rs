//! End-to-end tests over real `sluice` processes on 127.0.0.1, built on
//! [`sluice_loadtest`]'s cluster harness. The tests arrive with the node issue.
