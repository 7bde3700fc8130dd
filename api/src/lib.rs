//! The HTTP API of a sluice node (DESIGN.md §8).
//!
//! Not built yet: the axum routes, bearer-token auth and the one mapping from every
//! crate's errors to stable API error codes arrive with the node issue. The API talks
//! to the node through [`sluice_actors`].
