//! Delivery of LSPS5 webhook notifications. lightning-liquidity builds and signs each
//! notification and hands it over as an event (URL, JSON body, headers); the
//! [`WebhookSender`] POSTs it over HTTPS, with a timeout per attempt and retries with
//! backoff, and counts what became of it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use lightning_liquidity::lsps5::event::LSPS5ServiceEvent;

use super::public_ip::is_public;
use super::Lsps5Config;

/// The webhook client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// The extra CA file could not be read or holds no usable certificate.
    #[error("ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTPS client could not be built.
    #[error("the HTTPS client: {0}")]
    Client(String),
}

/// What became of one notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The endpoint answered 2xx.
    Delivered {
        /// Attempts it took.
        attempts: u32,
    },
    /// The endpoint answered with a client error other than 408 or 429: it will not take
    /// this notification, so it is not tried again.
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The URL names a non-public address (loopback, private, link-local, ...) and
    /// `allow_private_addresses` is off: nothing was sent.
    Blocked {
        /// Why.
        reason: String,
    },
    /// Every attempt failed (timeout, connection or TLS error, 408, 429 or 5xx).
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last_error: String,
    },
}

impl Delivery {
    /// The outcome's metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Delivery::Delivered { .. } => "delivered",
            Delivery::Refused { .. } => "refused",
            Delivery::Blocked { .. } => "blocked",
            Delivery::GaveUp { .. } => "gave_up",
        }
    }
}

/// POSTs webhook notifications; cheap to share.
pub struct WebhookSender {
    client: reqwest::Client,
    config: Lsps5Config,
}

impl WebhookSender {
    /// A sender trusting the public web roots and the certificates of `config.ca_file`.
    /// It follows no redirects and uses no proxy: a webhook goes where the client said,
    /// and (unless `allow_private_addresses`) only to public addresses, checked after DNS
    /// resolution so a name cannot be pointed inside later.
    pub fn new(config: Lsps5Config) -> Result<WebhookSender, WebhookSetupError> {
        let mut builder = reqwest::Client::builder();
        if !config.allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        builder = builder
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout())
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let ca_error = |reason: String| WebhookSetupError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certificates.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|e| WebhookSetupError::Client(e.to_string()))?;
        Ok(WebhookSender { client, config })
    }

    /// Delivers lightning-liquidity's notification event in the background.
    pub fn send(self: &Arc<Self>, event: LSPS5ServiceEvent) {
        let LSPS5ServiceEvent::SendWebhookNotification {
            counterparty_node_id,
            app_name,
            url,
            notification,
            headers,
        } = event;
        let body = match serde_json::to_string(&notification) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "LSPS5: a notification could not be serialised");
                return;
            }
        };
        let method = format!("{:?}", notification.method);
        let sender = Arc::clone(self);
        tokio::spawn(async move {
            let started = Instant::now();
            let delivery = sender.deliver(url.as_str(), body, &headers).await;
            metrics::counter!("sluice_lsps5_webhooks_total", "outcome" => delivery.label())
                .increment(1);
            metrics::histogram!("sluice_lsps5_webhook_seconds")
                .record(started.elapsed().as_secs_f64());
            let client = counterparty_node_id;
            let app = app_name.to_string();
            match &delivery {
                Delivery::Delivered { attempts } => {
                    tracing::info!(%client, app, method, attempts, "LSPS5: webhook delivered");
                }
                other => {
                    tracing::warn!(%client, app, method, outcome = ?other, "LSPS5: webhook not delivered");
                }
            }
        });
    }

    /// POSTs `body` with `headers` to `url` until it is taken, refused, or the attempts
    /// run out.
    pub async fn deliver(&self, url: &str, body: String, headers: &[(String, String)]) -> Delivery {
        if !self.config.allow_private_addresses {
            if let Some(ip) = ip_literal(url).filter(|ip| !is_public(*ip)) {
                return Delivery::Blocked {
                    reason: format!("{ip} is not a public address"),
                };
            }
        }
        let mut last_error = String::new();
        for attempt in 1..=self.config.attempts {
            if attempt > 1 {
                tokio::time::sleep(self.config.retry_delay(attempt - 1)).await;
            }
            metrics::counter!("sluice_lsps5_webhook_attempts_total").increment(1);
            let mut request = self.client.post(url).body(body.clone());
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return Delivery::Delivered { attempts: attempt };
                }
                Ok(response) => {
                    let status = response.status();
                    let retry = status.is_server_error()
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    if !retry {
                        return Delivery::Refused {
                            status: status.as_u16(),
                        };
                    }
                    last_error = format!("HTTP {status}");
                }
                Err(e) if e.is_timeout() => {
                    last_error = format!("timed out after {:?}", self.config.timeout());
                }
                Err(e) => last_error = error_chain(&e),
            }
            tracing::debug!(url, attempt, error = %last_error, "LSPS5: webhook attempt failed");
        }
        Delivery::GaveUp {
            attempts: self.config.attempts,
            last_error,
        }
    }
}

/// The address an URL's host names literally, if it is an IP address.
fn ip_literal(url: &str) -> Option<IpAddr> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A resolver that keeps only public addresses: a webhook host that resolves to none
/// fails to connect.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let error = std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} resolves to no public address"),
                );
                return Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An error and its causes, on one line (reqwest's own text hides the TLS or connection
/// reason in its sources).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_are_read_from_the_url() {
        assert_eq!(
            ip_literal("https://127.0.0.1:8443/x"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(ip_literal("https://[::1]/x"), Some("::1".parse().unwrap()));
        assert_eq!(ip_literal("https://example.com/x"), None);
    }
}
