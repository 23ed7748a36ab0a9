//! The Dataverse Web API client: the documented headers, the base URL, a
//! host-provided token, and the retry policy (backoff on 5xx, timeouts and
//! dropped connections; `Retry-After` on 429; one token refresh on 401).
//! Links from the server are followed as given, never rebuilt.

mod metadata;
mod page;
mod tokens;
mod wire;

pub use crate::value::RowData;
pub use metadata::WhoAmI;
pub use page::{Page, PageError, PageShape, context_entity_set, parse_page, read_page};
pub use tokens::{TOKEN_TIMEOUT, TokenFuture, TokenProvider, Tokens};
pub use wire::{ACCEPT_ENCODING, BodyDecoder, DecodeError};

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tracing::{debug, warn};

use crate::error::{EXPIRED_VERSION_STAMP, Error, ODataError, Result};
use crate::secret::Secret;

/// A token that never changes (CLI, tests).
pub struct StaticToken(pub Secret);

impl TokenProvider for StaticToken {
    fn token(&self, _force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

/// HTTP requests sent (retries included), shared by every clone of the
/// `RemoteConfig` it belongs to: the request counts of the diagnostics
/// report's sync runs.
#[derive(Clone, Debug, Default)]
pub struct RequestCount(Arc<std::sync::atomic::AtomicU64>);

impl RequestCount {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn add_one(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Clone, Debug)]
pub struct RemoteConfig {
    /// The environment URL (`https://org.crm.dynamics.com`); the client
    /// appends `/api/data/v9.2/`. HTTPS only; plain http only for loopback
    /// (127.0.0.0/8, ::1, localhost) or with `allow_insecure_http`.
    pub server_url: String,
    /// Development only: allow plain `http://` to any host (an emulator on
    /// another machine of the developer's LAN). Tokens then travel in clear.
    pub allow_insecure_http: bool,
    /// `Prefer: odata.maxpagesize`, 1..=5000.
    pub page_size: u32,
    /// Tables downloading at once (one request in flight each), well below
    /// Dataverse's 52 concurrent requests per user; each 429 halves it for
    /// the rest of the run (down to 1).
    pub concurrency: u32,
    pub connect_timeout: Duration,
    /// One request, body included.
    pub request_timeout: Duration,
    /// Retries after 5xx, timeouts and dropped connections.
    pub max_retries: u32,
    /// Retries after 429.
    pub max_throttle_retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A longer Retry-After is an error rather than a silent hang.
    pub max_retry_after: Duration,
    /// Counts what every `Remote` made from this config sends.
    pub requests: RequestCount,
    /// PEM certificates trusted as roots beside the built-in ones (a
    /// company's CA, the emulator's test CA). Empty: the built-in roots only.
    pub extra_roots_pem: Vec<u8>,
    /// The host's HTTP proxy (`http://host:port`, or
    /// `http://user:password@host:port`: a `Secret`, as it may carry a
    /// password), for the sync client and the connectivity probe alike;
    /// HTTPS goes through it with CONNECT. Loopback hosts (`localhost`,
    /// 127.0.0.0/8, `::1`) never go through it. Phones have no proxy
    /// variables: the shells pass the OS's setting (Android's
    /// `ConnectivityManager.getDefaultProxy()`, iOS's
    /// `CFNetworkCopySystemProxySettings()`). None: the `HTTPS_PROXY`,
    /// `HTTP_PROXY` and `NO_PROXY` variables where they are set (desktops,
    /// CI), else direct.
    pub proxy_url: Option<Secret>,
}

impl RemoteConfig {
    pub fn new(server_url: impl Into<String>) -> Self {
        RemoteConfig {
            server_url: server_url.into(),
            allow_insecure_http: false,
            page_size: 5000,
            concurrency: 4,
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            max_retries: 6,
            max_throttle_retries: 10,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(600),
            requests: RequestCount::default(),
            extra_roots_pem: Vec::new(),
            proxy_url: None,
        }
    }
}

/// What a request answered (a success status), body fully read and decoded.
pub struct Response {
    pub status: u16,
    pub body: bytes::Bytes,
    pub headers: HeaderMap,
    /// The body's size as it crossed the network (compressed when gzip).
    pub wire_bytes: u64,
}

/// How reading a body failed.
enum BodyFailure {
    /// The connection broke (reqwest's error): retried.
    Network(reqwest::Error),
    /// The bytes arrived but do not decode (or were not asked for).
    Decode(DecodeError),
}

/// Reads the body chunk by chunk into the decoder its `Content-Encoding`
/// names: the gzip stream is inflated as it arrives.
async fn read_body(
    mut resp: reqwest::Response,
) -> std::result::Result<(Vec<u8>, u64), BodyFailure> {
    let enc = resp
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("(not text)").to_string());
    let hint = resp.content_length().unwrap_or(0) as usize;
    let mut dec = BodyDecoder::new(enc.as_deref(), hint).map_err(BodyFailure::Decode)?;
    while let Some(chunk) = resp.chunk().await.map_err(BodyFailure::Network)? {
        dec.push(&chunk).map_err(BodyFailure::Decode)?;
    }
    let wire = dec.wire_bytes();
    Ok((dec.finish().map_err(BodyFailure::Decode)?, wire))
}

/// Cheap to clone: the clones share one connection pool.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    base: String,
    /// Scheme, host and port of the environment: the only origin the token
    /// is ever sent to.
    origin: reqwest::Url,
    tokens: Tokens,
    cfg: RemoteConfig,
    /// 429 answers seen by this client and its clones (the sync lowers its
    /// parallelism on them).
    throttled: Arc<std::sync::atomic::AtomicU64>,
}

impl Remote {
    pub fn new(cfg: RemoteConfig, tokens: Arc<dyn TokenProvider>) -> Result<Remote> {
        let base = base_url(&cfg.server_url, cfg.allow_insecure_http)?;
        let origin = reqwest::Url::parse(&base)
            .map_err(|e| Error::Profile(format!("server URL is not a URL: {e}")))?;
        // HTTP/2 where the server offers it (ALPN over TLS): the parallel
        // downloads then share one connection; HTTP/1.1 otherwise.
        let mut builder = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.concurrency.clamp(4, 64) as usize);
        builder = with_network(builder, &cfg)?;
        let http = builder
            .build()
            .map_err(|e| Error::Network(format!("cannot build the HTTP client: {e}")))?;
        Ok(Remote {
            http,
            base,
            origin,
            tokens: Tokens::new(tokens),
            cfg,
            throttled: Arc::default(),
        })
    }

    /// The host's tokens as this client asks for them: the connectivity
    /// probe shares them, so a refresh is never asked for twice at once.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Tables to download at once.
    pub fn concurrency(&self) -> usize {
        self.cfg.concurrency.max(1) as usize
    }

    /// How many 429 answers this client (and its clones) has met so far.
    pub fn throttle_count(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The settings this client was made with (the probe takes its roots
    /// and proxy from them).
    pub(crate) fn config(&self) -> &RemoteConfig {
        &self.cfg
    }

    /// `<server>/api/data/v9.2/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Requests this client (and every clone) sent, retries included.
    pub fn requests(&self) -> u64 {
        self.cfg.requests.get()
    }

    pub fn page_size(&self) -> u32 {
        self.cfg.page_size
    }

    /// A URL under the base from a relative path (`accounts?$select=name`).
    pub fn url(&self, relative: &str) -> String {
        format!("{}{}", self.base, relative)
    }

    /// GET with the documented headers and the retry policy. `url` is sent
    /// as given (server links byte for byte). `what` names the request in
    /// errors (no query string: filters may hold user data).
    pub async fn get(&self, url: &str, prefer: Option<&str>, what: &str) -> Result<Response> {
        let headers: Vec<(&str, String)> = prefer
            .map(|p| ("Prefer", p.to_string()))
            .into_iter()
            .collect();
        self.send(reqwest::Method::GET, url, &headers, None, what)
            .await
    }

    /// Any request (the outbox's PATCH, DELETE and `$batch` POST) with the
    /// documented headers, extra `headers`, an optional body, and the same
    /// retry policy as reads: a write is only retried when the outbox made it
    /// idempotent, which every outbox request is (docs/outbox.md).
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        extra: &[(&str, String)],
        body: Option<bytes::Bytes>,
        what: &str,
    ) -> Result<Response> {
        let url = self.absolute(url, what)?;
        let url = url.as_str();
        let mut retries = 0u32;
        let mut throttled = 0u32;
        let mut refreshed = false;
        // The generation of a token the server just refused: the next
        // attempt asks for a refresh (shared with any other request that
        // met the same refusal).
        let mut refused: Option<u64> = None;
        loop {
            let (generation, token) = match refused.take() {
                Some(seen) => self.tokens.refresh(seen).await,
                None => self.tokens.get().await,
            }
            .map_err(Error::TokenProvider)?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .header("Accept", "application/json")
                .header("OData-MaxVersion", "4.0")
                .header("OData-Version", "4.0")
                .header("Accept-Encoding", ACCEPT_ENCODING)
                .bearer_auth(token.expose());
            for (k, v) in extra {
                req = req.header(*k, v.as_str());
            }
            if let Some(b) = &body {
                // Bytes clones share the buffer: a retry costs no copy.
                req = req.body(b.clone());
            }
            self.cfg.requests.add_one();
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match read_body(resp).await {
                        Ok((body, wire)) => Ok((status, headers, bytes::Bytes::from(body), wire)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(BodyFailure::Network(e)),
            };
            let (status, headers, body, wire_bytes) = match outcome {
                Ok(x) => x,
                Err(BodyFailure::Decode(d))
                    if d.problem == crate::status::ResponseProblem::Truncated =>
                {
                    // A compressed body that stops early: cut on the way, like
                    // a dropped connection.
                    retries += 1;
                    if retries > self.cfg.max_retries {
                        warn!(%what, "the answer is cut short: {d}");
                        return Err(Error::bad_response(what, d.problem, d.detail));
                    }
                    let wait = self.backoff(retries);
                    debug!(%what, attempt = retries, ?wait, "compressed body cut short: {d}");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(BodyFailure::Decode(d)) => {
                    warn!(%what, "the answer cannot be read: {d}");
                    return Err(Error::bad_response(what, d.problem, d.detail));
                }
                Err(BodyFailure::Network(e)) if tls_failure(&e).is_some() => {
                    // The same certificate fails the same way: no retry.
                    let why = tls_failure(&e).unwrap_or_default();
                    warn!(%what, "TLS refused: {why}");
                    return Err(Error::Tls(format!("{what}: {why}")));
                }
                Err(BodyFailure::Network(e)) => {
                    // Timeouts, refused or dropped connections, cut bodies.
                    retries += 1;
                    if retries > self.cfg.max_retries {
                        return Err(Error::Network(format!("{what}: {}", describe_reqwest(&e))));
                    }
                    let wait = self.backoff(retries);
                    debug!(%what, attempt = retries, ?wait, "transient failure: {}", describe_reqwest(&e));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if status.is_success() {
                return Ok(Response {
                    status: status.as_u16(),
                    body,
                    headers,
                    wire_bytes,
                });
            }
            let odata = parse_error_body(&body);
            if odata
                .as_ref()
                .is_some_and(|e| e.code.eq_ignore_ascii_case(EXPIRED_VERSION_STAMP))
            {
                return Err(Error::Http {
                    status: status.as_u16(),
                    what: what.to_string(),
                    odata,
                });
            }
            match status {
                StatusCode::UNAUTHORIZED if !refreshed => {
                    debug!(%what, "401: asking the host for a fresh token");
                    refreshed = true;
                    refused = Some(generation);
                }
                StatusCode::UNAUTHORIZED => {
                    let msg = odata
                        .map(|e| e.message)
                        .unwrap_or_else(|| "401 Unauthorized".into());
                    return Err(Error::Auth(format!("{what}: {msg}")));
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    throttled += 1;
                    self.throttled
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let retry_after = retry_after(&headers);
                    if throttled > self.cfg.max_throttle_retries
                        || retry_after.is_some_and(|d| d > self.cfg.max_retry_after)
                    {
                        return Err(Error::Throttled {
                            attempts: throttled,
                            retry_after,
                        });
                    }
                    let wait = retry_after.unwrap_or_else(|| self.backoff(throttled));
                    warn!(%what, ?wait, "throttled (429): waiting as the server asks");
                    tokio::time::sleep(wait).await;
                }
                s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                    retries += 1;
                    if retries > self.cfg.max_retries {
                        return Err(Error::Http {
                            status: s.as_u16(),
                            what: what.to_string(),
                            odata,
                        });
                    }
                    let wait = self.backoff(retries);
                    debug!(%what, status = s.as_u16(), attempt = retries, ?wait, "server error: retrying");
                    tokio::time::sleep(wait).await;
                }
                s => {
                    return Err(Error::Http {
                        status: s.as_u16(),
                        what: what.to_string(),
                        odata,
                    });
                }
            }
        }
    }

    /// A server link as a URL. Absolute links are parsed, never rebuilt:
    /// the `url` crate only percent-encodes characters a URL may not hold
    /// raw, so a well-formed link goes out byte for byte (checked below).
    /// A relative link resolves against the base URL.
    fn absolute(&self, link: &str, what: &str) -> Result<reqwest::Url> {
        let is_absolute = link.starts_with("https://") || link.starts_with("http://");
        let parsed = if is_absolute {
            reqwest::Url::parse(link)
        } else {
            reqwest::Url::parse(&self.base).and_then(|b| b.join(link))
        }
        .map_err(|e| Error::protocol(what, format!("link is not a URL: {e}")))?;
        // The token goes with every request: never to another origin (a
        // nextLink to elsewhere, or a downgrade to http).
        if parsed.origin() != self.origin.origin() {
            return Err(Error::InsecureUrl(format!(
                "{what}: the server sent a link to another origin ({}); the token is only sent to {}",
                parsed.origin().ascii_serialization(),
                self.origin.origin().ascii_serialization()
            )));
        }
        if is_absolute && parsed.as_str() != link {
            warn!(%what, "a server link had to be re-encoded to be sent (it held characters a URL may not carry raw)");
        }
        Ok(parsed)
    }

    /// GET one page and parse it (`read_page`: JSON content type, a whole
    /// page of the table asked, each row once). A body cut short is retried
    /// like a dropped connection; other nonsense (a captive portal's HTML,
    /// another table's rows) fails at once with its `ResponseProblem`, and
    /// the scheduler retries the sync later.
    pub async fn get_page(
        &self,
        url: &str,
        prefer: &str,
        shape: &PageShape,
        what: &str,
    ) -> Result<Page> {
        let mut attempts = 0u32;
        loop {
            let resp = self.get(url, Some(prefer), what).await?;
            let ct = resp
                .headers
                .get(reqwest::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap_or("(not text)"));
            match read_page(&resp.body, ct, shape) {
                Ok(mut page) => {
                    page.wire_bytes = resp.wire_bytes;
                    return Ok(page);
                }
                Err(e) => {
                    attempts += 1;
                    let cut = e.problem == crate::status::ResponseProblem::Truncated;
                    if !cut || attempts > self.cfg.max_retries {
                        warn!(%what, problem = e.problem.as_str(), "the server's answer is not a page");
                        return Err(Error::bad_response(
                            what,
                            e.problem,
                            format!("the page does not parse: {}", e.detail),
                        ));
                    }
                    let wait = self.backoff(attempts);
                    warn!(%what, attempt = attempts, ?wait, "page does not parse (cut short?); retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Full jitter exponential backoff.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .cfg
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16));
        let cap = exp.min(self.cfg.backoff_cap);
        let ms = cap.as_millis().max(1) as u64;
        Duration::from_millis(ms / 2 + fastrand::u64(0..=ms / 2))
    }
}

/// `builder` with the network settings of `cfg`: its extra roots and its
/// proxy. Shared by the sync client and the probe, so both trust the same
/// servers and take the same way to them.
pub(crate) fn with_network(
    builder: reqwest::ClientBuilder,
    cfg: &RemoteConfig,
) -> Result<reqwest::ClientBuilder> {
    with_proxy(
        with_roots(builder, &cfg.extra_roots_pem)?,
        cfg.proxy_url.as_ref(),
    )
}

/// Loopback hosts: never proxied (an emulator, a local relay).
const NO_PROXY: &str = "localhost,127.0.0.0/8,::1";

/// `builder` sending every request through `proxy` but to loopback. Setting
/// a proxy turns off reqwest's use of the proxy environment variables.
fn with_proxy(
    builder: reqwest::ClientBuilder,
    proxy: Option<&Secret>,
) -> Result<reqwest::ClientBuilder> {
    let Some(url) = proxy else {
        return Ok(builder);
    };
    // Not the URL in the message: it may carry the proxy's password.
    let proxy = reqwest::Proxy::all(url.expose())
        .map_err(|_| Error::Profile("the proxy is not a URL like http://host:port".into()))?
        .no_proxy(reqwest::NoProxy::from_string(NO_PROXY));
    Ok(builder.proxy(proxy))
}

/// `builder` trusting the PEM roots of `pem` beside the built-in ones
/// (empty: none added).
fn with_roots(mut builder: reqwest::ClientBuilder, pem: &[u8]) -> Result<reqwest::ClientBuilder> {
    if pem.is_empty() {
        return Ok(builder);
    }
    let roots = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| Error::Profile(format!("extra root certificates: {e}")))?;
    if roots.is_empty() {
        return Err(Error::Profile(
            "extra root certificates: no PEM certificate found".into(),
        ));
    }
    for root in roots {
        builder = builder.add_root_certificate(root);
    }
    Ok(builder)
}

/// Why the TLS handshake of a failed connection failed, if that is what
/// failed. The TLS layer reports a refused certificate or a broken
/// handshake as an `io::Error` of kind `InvalidData`, which the connector
/// wraps in another `io::Error` (whatever the rustls version in the tree,
/// so no downcast to its type); refused, reset and timed-out connections
/// have other kinds. `io::Error::source` skips the error it wraps, so the
/// wrapped ones are followed with `get_ref`.
pub(crate) fn tls_failure(e: &reqwest::Error) -> Option<String> {
    if !e.is_connect() {
        return None;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let mut io = s.downcast_ref::<std::io::Error>();
        while let Some(err) = io {
            if err.kind() == std::io::ErrorKind::InvalidData {
                return Some(
                    err.get_ref()
                        .map(|inner| inner.to_string())
                        .unwrap_or_else(|| err.to_string()),
                );
            }
            io = err
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<std::io::Error>());
        }
        source = s.source();
    }
    None
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // reqwest's Display includes the URL; keep only the kind and its source.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was cut"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v: &HeaderValue = headers.get("retry-after")?;
    let secs: f64 = v.to_str().ok()?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// `{"error":{"code":"...","message":"..."}}`, or None for other bodies.
pub fn parse_error_body(body: &[u8]) -> Option<ODataError> {
    #[derive(serde::Deserialize)]
    struct Outer {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let o: Outer = serde_json::from_slice(body).ok()?;
    Some(ODataError {
        code: o.error.code.unwrap_or_default(),
        message: o.error.message.unwrap_or_default(),
    })
}

/// Whether the URL's host is this machine: 127.0.0.0/8, ::1, localhost.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.eq_ignore_ascii_case("localhost.")
        }
        None => false,
    }
}

/// Environment URL → Web API base. https; http on loopback only, unless
/// the development flag allows it anywhere.
fn base_url(server: &str, allow_insecure_http: bool) -> Result<String> {
    let url = reqwest::Url::parse(server.trim())
        .map_err(|e| Error::Profile(format!("server URL {server:?} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Profile(
            "the server URL must not carry credentials (user:password@)".into(),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || allow_insecure_http => {}
        "http" => {
            return Err(Error::InsecureUrl(format!(
                "{server}: plain http is only allowed to loopback (127.0.0.0/8, ::1, localhost) \
                 or with RemoteConfig::allow_insecure_http (development); use https"
            )));
        }
        s => {
            return Err(Error::InsecureUrl(format!(
                "{server}: scheme {s} not allowed (https, or http on loopback)"
            )));
        }
    }
    let mut s = url.as_str().trim_end_matches('/').to_string();
    if !s.ends_with("/api/data/v9.2") {
        s.push_str("/api/data/v9.2");
    }
    s.push('/');
    Ok(s)
}

/// Percent-encodes a query value we build ourselves ($select, $filter).
/// Server links are never passed through this.
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~(),'=:$@/*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert_eq!(
            base_url("https://org.crm.dynamics.com", false).unwrap(),
            "https://org.crm.dynamics.com/api/data/v9.2/"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080/", false).unwrap(),
            "http://127.0.0.1:8080/api/data/v9.2/"
        );
        for loopback in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(base_url(loopback, false).is_ok(), "{loopback}");
        }
        for remote in [
            "http://example.com",
            "http://10.0.0.2:8080",
            "http://localhost.example.com",
            "http://128.0.0.1",
            "http://[::2]",
        ] {
            assert!(
                matches!(base_url(remote, false), Err(Error::InsecureUrl(_))),
                "{remote}"
            );
            assert!(base_url(remote, true).is_ok(), "{remote} with the flag");
        }
        assert!(matches!(
            base_url("ftp://org.crm.dynamics.com", true),
            Err(Error::InsecureUrl(_))
        ));
        assert!(base_url("https://user:pw@org.crm.dynamics.com", false).is_err());
        assert!(base_url("nonsense", false).is_err());
    }

    #[test]
    fn error_bodies() {
        let e = parse_error_body(
            br#"{"error":{"message":"Version stamp expired","code":"0x80044352"}}"#,
        )
        .unwrap();
        assert_eq!(e.code, EXPIRED_VERSION_STAMP);
        assert!(parse_error_body(b"<html>").is_none());
    }

    #[test]
    fn encodes_filters() {
        assert_eq!(encode_query_value("name eq 'a&b'"), "name%20eq%20'a%26b'");
    }
}
