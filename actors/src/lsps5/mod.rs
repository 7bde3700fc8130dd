//! LSPS5 webhooks (bLIP-55), the service side, over lightning-liquidity 0.2.7: a client
//! registers HTTPS URLs (`lsps5.set_webhook`), and the LSP POSTs signed notifications to
//! them when it needs the client online, such as a JIT payment arriving while the client
//! is offline (see [`crate::lsps2`]).
//!
//! - [`config`]: limits and how notifications are delivered;
//! - [`public_ip`]: the addresses a webhook may reach (no special-purpose ranges);
//! - [`webhooks`]: the [`WebhookSender`], which POSTs them with timeouts and retries.
//!
//! What survives a restart: the registered webhooks (lightning-liquidity persists them).
//! A notification being delivered when the node stops is not tried again; the client's
//! next payment notifies it anew.

pub mod config;
pub mod public_ip;
pub mod webhooks;

pub use config::Lsps5Config;
pub use webhooks::{Delivery, WebhookSender, WebhookSetupError};
