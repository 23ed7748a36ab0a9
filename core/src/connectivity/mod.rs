//! The active connectivity probe: "the OS says online" is not "the server
//! answers and accepts our token". One `GET WhoAmI` with a short timeout,
//! no retries (it must say what the network does now), classified into the
//! status machine's `Connectivity`: reachable, unreachable (timeout, no
//! route, captive portal), token rejected, throttled. The classification is
//! a pure function of the answer (`classify`), tested without sockets.

use std::time::Duration;

use reqwest::StatusCode;
use tracing::debug;

use crate::error::{Error, Result};
use crate::remote::Tokens;
use crate::status::{Connectivity, UnreachableReason};

/// What one probe request produced, before classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The host could not give us a token (signed out, MSAL failed).
    NoToken,
    /// No answer within the probe's timeout.
    TimedOut,
    /// DNS, refused, reset: nothing usable answered.
    NoConnection,
    /// The server's certificate is not trusted, or the TLS handshake failed.
    Untrusted,
    /// An HTTP answer: status, content type, body (the body is short: a
    /// WhoAmI answer, an error, or whatever a portal served).
    Http {
        status: u16,
        content_type: String,
        body: Vec<u8>,
        retry_after_secs: Option<u64>,
    },
}

/// Classifies one answer. A first 401 is retried by `Prober` with a fresh
/// token from the host; only the answer to that retry is final.
pub fn classify(answer: &Answer) -> Connectivity {
    match answer {
        Answer::NoToken => Connectivity::AuthRejected,
        Answer::TimedOut => Connectivity::Unreachable(UnreachableReason::Timeout),
        Answer::NoConnection => Connectivity::Unreachable(UnreachableReason::NoRoute),
        Answer::Untrusted => Connectivity::Unreachable(UnreachableReason::Untrusted),
        Answer::Http {
            status,
            content_type,
            body,
            retry_after_secs,
        } => {
            let dataverse_json = content_type.contains("json")
                && serde_json::from_slice::<serde_json::Value>(body).is_ok();
            match *status {
                200 if dataverse_json && is_who_am_i(body) => Connectivity::Reachable,
                // A 200 that is not WhoAmI JSON (a login page, a proxy's
                // banner) or a redirect: something between us and the
                // server wants the user's attention.
                200..=399 => Connectivity::Unreachable(UnreachableReason::CaptivePortal),
                401 | 403 if dataverse_json || body.is_empty() => Connectivity::AuthRejected,
                429 => Connectivity::Throttled {
                    retry_after_secs: retry_after_secs.unwrap_or(1),
                },
                408 | 504 => Connectivity::Unreachable(UnreachableReason::Timeout),
                // 5xx: the service (or a gateway before it) is down for now.
                500..=599 => Connectivity::Unreachable(UnreachableReason::NoRoute),
                // Any other status without Dataverse's error JSON is not
                // Dataverse answering (a portal's 401/404 page).
                _ if !dataverse_json => Connectivity::Unreachable(UnreachableReason::CaptivePortal),
                _ => Connectivity::Unreachable(UnreachableReason::NoRoute),
            }
        }
    }
}

fn is_who_am_i(body: &[u8]) -> bool {
    who_am_i_user(body).is_some()
}

/// The `UserId` of a WhoAmI answer, lowercase.
fn who_am_i_user(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("UserId")
                .and_then(|u| u.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| s.to_ascii_lowercase())
        })
}

/// Runs probes against one environment with the host's token provider.
/// Has its own HTTP client: short timeouts, no redirects followed (a
/// captive portal's redirect is itself the sign), no retries.
pub struct Prober {
    http: reqwest::Client,
    url: String,
    tokens: Tokens,
}

/// Bodies longer than this are not WhoAmI; reading them all wastes data.
const MAX_BODY: usize = 64 * 1024;

impl Prober {
    /// `base_url` is the Web API base (`<org>/api/data/v9.2/`, as
    /// `Remote::base_url` gives it).
    pub fn new(
        base_url: &str,
        tokens: Tokens,
        timeout: Duration,
        network: &crate::remote::RemoteConfig,
    ) -> Result<Prober> {
        let builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1);
        // The same roots and proxy as the sync client: a company CA or proxy
        // that works there works here, or the probe would call its server
        // unreachable.
        let http = crate::remote::with_network(builder, network)?
            .build()
            .map_err(|e| Error::Network(format!("cannot build the probe's HTTP client: {e}")))?;
        Ok(Prober {
            http,
            url: format!("{base_url}WhoAmI"),
            tokens,
        })
    }

    /// One probe: WhoAmI, and once more with a fresh token after a 401.
    pub async fn probe(&self) -> Connectivity {
        self.probe_user().await.0
    }

    /// One probe, and the signed-in user's `UserId` (lowercase) when the
    /// server answered WhoAmI.
    pub async fn probe_user(&self) -> (Connectivity, Option<String>) {
        let (mut answer, generation) = self.ask(None).await;
        let mut verdict = classify(&answer);
        if matches!(&answer, Answer::Http { status: 401, .. })
            && verdict == Connectivity::AuthRejected
        {
            debug!("probe: 401, asking the host for a fresh token");
            answer = self.ask(Some(generation)).await.0;
            verdict = classify(&answer);
        }
        let user = match (&verdict, &answer) {
            (Connectivity::Reachable, Answer::Http { body, .. }) => who_am_i_user(body),
            _ => None,
        };
        (verdict, user)
    }

    /// WhoAmI with the current token, or with a fresh one after a token of
    /// generation `refused` was refused; the generation of the token sent.
    async fn ask(&self, refused: Option<u64>) -> (Answer, u64) {
        let got = match refused {
            Some(seen) => self.tokens.refresh(seen).await,
            None => self.tokens.get().await,
        };
        let (generation, token) = match got {
            Ok(t) => t,
            Err(_) => return (Answer::NoToken, 0),
        };
        (self.send(&token).await, generation)
    }

    async fn send(&self, token: &crate::secret::Secret) -> Answer {
        let sent = self
            .http
            .get(&self.url)
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0")
            .bearer_auth(token.expose())
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Answer::TimedOut,
            Err(e) if crate::remote::tls_failure(&e).is_some() => return Answer::Untrusted,
            Err(_) => return Answer::NoConnection,
        };
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let retry_after_secs = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.ceil() as u64);
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Answer::TimedOut,
                // Cut mid-body: a 200 with half a body is no answer.
                Err(_) if status == StatusCode::OK => return Answer::NoConnection,
                Err(_) => break,
            }
        }
        Answer::Http {
            status: status.as_u16(),
            content_type,
            body,
            retry_after_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, ct: &str, body: &str) -> Answer {
        Answer::Http {
            status,
            content_type: ct.into(),
            body: body.as_bytes().to_vec(),
            retry_after_secs: None,
        }
    }

    #[test]
    fn every_answer_has_its_verdict() {
        use Connectivity as C;
        use UnreachableReason as U;
        let json = "application/json; odata.metadata=minimal";
        let who = r#"{"@odata.context":"x","BusinessUnitId":"b","UserId":"0f6c1a2b-0000-0000-0000-000000000001","OrganizationId":"o"}"#;
        let cases: Vec<(&str, Answer, Connectivity)> = vec![
            ("WhoAmI answered", http(200, json, who), C::Reachable),
            (
                "captive portal: HTML 200",
                http(
                    200,
                    "text/html",
                    "<html><body>Sign in to Hotel Wi-Fi</body></html>",
                ),
                C::Unreachable(U::CaptivePortal),
            ),
            (
                "captive portal: JSON that is not WhoAmI",
                http(200, "application/json", r#"{"portal":true}"#),
                C::Unreachable(U::CaptivePortal),
            ),
            (
                "captive portal: redirect",
                http(302, "text/html", ""),
                C::Unreachable(U::CaptivePortal),
            ),
            (
                "token rejected",
                http(401, json, r#"{"error":{"code":"","message":"expired"}}"#),
                C::AuthRejected,
            ),
            (
                "token rejected, empty body",
                http(401, "", ""),
                C::AuthRejected,
            ),
            (
                "a portal's own 401 page",
                http(401, "text/html", "<html>login</html>"),
                C::Unreachable(U::CaptivePortal),
            ),
            (
                "throttled",
                Answer::Http {
                    status: 429,
                    content_type: json.into(),
                    body: b"{}".to_vec(),
                    retry_after_secs: Some(7),
                },
                C::Throttled {
                    retry_after_secs: 7,
                },
            ),
            (
                "service down",
                http(503, json, r#"{"error":{"code":"","message":"down"}}"#),
                C::Unreachable(U::NoRoute),
            ),
            (
                "gateway timeout",
                http(504, "text/html", "<html>"),
                C::Unreachable(U::Timeout),
            ),
            ("timeout", Answer::TimedOut, C::Unreachable(U::Timeout)),
            ("refused", Answer::NoConnection, C::Unreachable(U::NoRoute)),
            ("no token from the host", Answer::NoToken, C::AuthRejected),
        ];
        for (name, answer, want) in cases {
            assert_eq!(classify(&answer), want, "{name}");
        }
    }
}
