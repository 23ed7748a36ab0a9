//! The HTTP edge: axum with one fallback handler. Auth, throttling, fault
//! injection and the admin API live here; everything under /api/data goes
//! to `api::handle` on a blocking thread with the database locked.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value as J, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::api::{self, ApiError, ApiRequest, ApiResponse};
use crate::{Admin, Shared, User};

const API_PREFIX: &str = "/api/data/v9.2";

pub async fn serve(
    listener: TcpListener,
    sh: Arc<Shared>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut app = Router::new().fallback(entry).with_state(sh.clone());
    if sh.compression {
        // gzip only when the request's Accept-Encoding asks for it; the
        // fastest level, so the emulator's CPU stays out of the figures.
        app = app.layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .quality(tower_http::CompressionLevel::Fastest),
        );
    }
    let tls = match sh.tls.then(tls::acceptor).transpose() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("cannot load the test certificate: {e}");
            return;
        }
    };
    let (ready_tx, ready_rx) = tokio::sync::mpsc::channel(64);
    let l = GuardedListener {
        inner: listener,
        sh,
        tls,
        ready_tx,
        ready_rx,
    };
    let r = axum::serve(l, app)
        .with_graceful_shutdown(async {
            let _ = stop.await;
        })
        .await;
    if let Err(e) = r {
        tracing::error!("server stopped: {e}");
    }
}

/// Drops connections while "refusing" is on (server unreachable); with TLS,
/// shakes hands off the accept loop (a slow client holds up nobody).
struct GuardedListener {
    inner: TcpListener,
    sh: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    ready_tx: tokio::sync::mpsc::Sender<(Conn, SocketAddr)>,
    ready_rx: tokio::sync::mpsc::Receiver<(Conn, SocketAddr)>,
}

impl axum::serve::Listener for GuardedListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let accepted = tokio::select! {
                r = self.inner.accept() => r,
                Some(done) = self.ready_rx.recv() => {
                    self.sh.stats.connections.fetch_add(1, Ordering::Relaxed);
                    return done;
                }
            };
            match accepted {
                Ok((s, a)) => {
                    if self.sh.faults.refusing.load(Ordering::SeqCst) {
                        drop(s);
                        continue;
                    }
                    let _ = s.set_nodelay(true);
                    let stream = GuardedStream {
                        inner: s,
                        sh: self.sh.clone(),
                    };
                    let Some(acceptor) = self.tls.clone() else {
                        self.sh.stats.connections.fetch_add(1, Ordering::Relaxed);
                        return (Conn::Plain(stream), a);
                    };
                    let tx = self.ready_tx.clone();
                    let sh = self.sh.clone();
                    tokio::spawn(async move {
                        let shake = acceptor.accept(stream);
                        match tokio::time::timeout(Duration::from_secs(10), shake).await {
                            Ok(Ok(tls)) => {
                                let _ = tx.send((Conn::Tls(Box::new(tls)), a)).await;
                            }
                            // A client that does not trust the certificate
                            // hangs up here; nothing to serve.
                            Ok(Err(e)) => {
                                sh.stats
                                    .tls_handshake_failures
                                    .fetch_add(1, Ordering::Relaxed);
                                tracing::debug!("TLS handshake failed: {e}")
                            }
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The emulator's test certificate (`devserver/tls/`), served with ALPN
/// h2 and http/1.1.
mod tls {
    use std::sync::Arc;

    use tokio_rustls::rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    };

    const CERT: &[u8] = include_bytes!("../tls/server.pem");
    const KEY: &[u8] = include_bytes!("../tls/server.key");

    pub(super) fn acceptor() -> Result<tokio_rustls::TlsAcceptor, String> {
        let certs = CertificateDer::pem_slice_iter(CERT)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(KEY).map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
    }
}

/// A connection as axum serves it: plain, or TLS over the same guarded
/// stream (so wire bytes count what was encrypted).
enum Conn {
    Plain(GuardedStream),
    Tls(Box<tokio_rustls::server::TlsStream<GuardedStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A connection that fails its next read once "refusing" is switched on, so
/// pooled keep-alive connections die too.
struct GuardedStream {
    inner: TcpStream,
    sh: Arc<Shared>,
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.sh.faults.refusing.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "refusing connections",
            )));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl GuardedStream {
    /// Bytes on the wire, for the admin stats.
    fn count(&self, r: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = r {
            self.sh
                .stats
                .wire_bytes
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.count(&r);
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.count(&r);
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn to_response(r: ApiResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match r.cut_at {
        Some(cut) => {
            use futures_util::StreamExt;
            let mut body = r.body;
            body.truncate(cut);
            let first = futures_util::stream::iter([Ok::<Bytes, io::Error>(Bytes::from(body))]);
            let fail = futures_util::stream::once(async {
                // Let the bytes reach the client before the connection drops.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err::<Bytes, io::Error>(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "injected truncation",
                ))
            });
            Body::from_stream(first.chain(fail))
        }
        None => Body::from(r.body),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

fn error(status: u16, code: &str, message: impl Into<String>) -> Response {
    to_response(ApiError::new(status, code, message).into_response())
}

fn authenticate(sh: &Shared, req: &Request) -> Result<User, Box<Response>> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match token.and_then(|t| sh.user_by_token(t)) {
        Some(u) => Ok(u.clone()),
        None => {
            let msg = if token.is_none() {
                "The request has no Authorization: Bearer <token> header."
            } else {
                "The bearer token is not valid for this environment."
            };
            let mut r = error(401, "", msg);
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer error=\"invalid_token\", authorization_uri=\"http://127.0.0.1/oauth2/authorize\""),
            );
            Err(Box::new(r))
        }
    }
}

/// A revoked token's answer: the 401 of an unknown token.
fn revoked_token() -> Response {
    let mut r = error(
        401,
        "",
        "The bearer token is not valid for this environment.",
    );
    r.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static(
            "Bearer error=\"invalid_token\", error_description=\"The access token has been revoked\"",
        ),
    );
    r
}

/// Service protection: a request budget per user and window.
fn check_budget(sh: &Shared, user: &User) -> Result<(), Box<Response>> {
    let Some((limit, window)) = sh.request_budget else {
        return Ok(());
    };
    let Ok(mut b) = sh.budgets.lock() else {
        return Ok(());
    };
    let now = Instant::now();
    let e = b.entry(user.id).or_insert((now, 0));
    if now.duration_since(e.0) >= window {
        *e = (now, 0);
    }
    e.1 += 1;
    if e.1 > limit {
        let left = window.saturating_sub(now.duration_since(e.0));
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let mut r = error(
            429,
            "0x80072322",
            format!(
                "Number of requests exceeded the limit of {limit} over time window of {} seconds.",
                window.as_secs()
            ),
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(secs.max(1)));
        return Err(Box::new(r));
    }
    Ok(())
}

/// One request in flight for a user; leaving (drop) frees the slot.
struct InFlight {
    sh: Arc<Shared>,
    user: uuid::Uuid,
}

impl InFlight {
    /// Service protection: at most `max_concurrent` requests per user at once.
    fn enter(sh: &Arc<Shared>, user: &User) -> Result<Option<InFlight>, Box<Response>> {
        let Some(limit) = sh.max_concurrent else {
            return Ok(None);
        };
        let mut m = sh.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(user.id).or_insert(0);
        if *n >= limit {
            let mut r = error(
                429,
                "0x80072326",
                format!("Number of concurrent requests exceeded the limit of {limit}."),
            );
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(1u32));
            return Err(Box::new(r));
        }
        *n += 1;
        Ok(Some(InFlight {
            sh: sh.clone(),
            user: user.id,
        }))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut m = self.sh.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.user) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Consumes one injected failure, if any is pending.
fn injected_failure(sh: &Shared) -> Option<Response> {
    let f = &sh.faults;
    let mut n = f.fail_count.load(Ordering::SeqCst);
    while n > 0 {
        match f
            .fail_count
            .compare_exchange(n, n - 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                let status = f.fail_status.load(Ordering::SeqCst) as u16;
                let (code, msg) = match status {
                    429 => ("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds.".to_string()),
                    _ => ("0x80040216", format!("An unexpected error occurred (injected failure, HTTP {status}).")),
                };
                let mut r = error(status, code, msg);
                if status == 429 || status == 503 {
                    r.headers_mut()
                        .insert("retry-after", HeaderValue::from(1u32));
                }
                return Some(r);
            }
            Err(cur) => n = cur,
        }
    }
    None
}

async fn read_body(sh: &Shared, body: Body) -> Result<Vec<u8>, Response> {
    match axum::body::to_bytes(body, sh.max_body_bytes).await {
        Ok(b) => Ok(b.to_vec()),
        Err(_) => Err(error(
            413,
            "0x80040216",
            format!(
                "The request body is larger than the limit of {} bytes (or could not be read).",
                sh.max_body_bytes
            ),
        )),
    }
}

async fn entry(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if path == API_PREFIX || path.starts_with(&format!("{API_PREFIX}/")) {
        return api_entry(sh, req).await;
    }
    if let Some(rest) = path.strip_prefix("/admin/") {
        let rest = rest.to_string();
        return admin_entry(sh, req, &rest).await;
    }
    error(
        404,
        "0x8006088a",
        format!(
            "Resource not found for the segment '{path}'. The Web API lives under {API_PREFIX}/."
        ),
    )
}

async fn api_entry(sh: Arc<Shared>, req: Request) -> Response {
    sh.stats.requests.fetch_add(1, Ordering::Relaxed);
    if req.version() == axum::http::Version::HTTP_2 {
        sh.stats.http2_requests.fetch_add(1, Ordering::Relaxed);
    }
    let user = match authenticate(&sh, &req) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    if sh.faults.is_revoked(&user.token) {
        return revoked_token();
    }
    // In flight from here: injected latency counts as time spent serving.
    let _slot = match InFlight::enter(&sh, &user) {
        Ok(slot) => slot,
        Err(r) => return *r,
    };
    let latency = sh.faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some(r) = injected_failure(&sh) {
        return r;
    }
    if let Err(r) = check_budget(&sh, &user) {
        return *r;
    }
    let (parts, body) = req.into_parts();
    let raw_path = parts
        .uri
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or("")
        .trim_start_matches('/');
    let path = match crate::cookie::pct_decode(raw_path, false) {
        Ok(p) => p,
        Err(e) => return to_response(e.into_response()),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    let body = match read_body(&sh, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let api_req = ApiRequest {
        method: parts.method.as_str().to_string(),
        path,
        raw_query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        body,
    };
    let sh2 = sh.clone();
    let started = Instant::now();
    let (method, path) = (api_req.method.clone(), api_req.path.clone());
    let res =
        tokio::task::spawn_blocking(move || sh2.with_ctx(&user, |ctx| api::handle(ctx, &api_req)))
            .await;
    match res {
        Ok(Ok(r)) => {
            // Method, path and status only: never tokens, queries or row values.
            let micros = started.elapsed().as_micros() as u64;
            tracing::debug!(%method, %path, status = r.status, bytes = r.body.len(), micros, "request");
            sh.stats
                .body_bytes
                .fetch_add(r.body.len() as u64, Ordering::Relaxed);
            let entity_read = method == "GET"
                && r.status == 200
                && r.cut_at.is_none()
                && sh.schema.by_set(&path).is_some();
            match entity_read
                .then(|| sh.faults.take_nonsense(&path))
                .flatten()
            {
                Some(kind) => {
                    tracing::debug!(%path, kind = kind.name(), "injected nonsense");
                    to_response(crate::nonsense::apply(kind, r))
                }
                None => to_response(r),
            }
        }
        Ok(Err(e)) => error(
            500,
            "0x80040216",
            format!("An unexpected error occurred: {e}"),
        ),
        Err(e) => {
            tracing::error!("handler panicked: {e}");
            error(500, "0x80040216", "An unexpected error occurred.")
        }
    }
}

fn admin_json(status: u16, v: J) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn admin_error(e: crate::Error) -> Response {
    match e {
        crate::Error::Api {
            status,
            code,
            message,
        } => error(status, &code, message),
        other => error(500, "0x80040216", other.to_string()),
    }
}

async fn admin_entry(sh: Arc<Shared>, req: Request, rest: &str) -> Response {
    let user = match authenticate(&sh, &req) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let method = req.method().as_str().to_string();
    let body = match read_body(&sh, req.into_body()).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let args: J = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    "0x80060888",
                    format!("The admin request body is not valid JSON: {e}"),
                );
            }
        }
    };
    let admin = Admin::new(sh.clone());
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let num = |k: &str| args.get(k).and_then(J::as_u64);
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["users"]) => admin_json(200, json!(admin.users())),
        ("GET", ["stats"]) => admin_json(200, json!(admin.stats())),
        ("POST", ["stats", "reset"]) => {
            admin.reset_stats();
            admin_json(200, json!({}))
        }
        ("POST", ["latency"]) => match num("ms") {
            Some(ms) => {
                admin.set_latency(Duration::from_millis(ms));
                admin_json(200, json!({"ms": ms}))
            }
            None => error(400, "0x80060888", "Expected {\"ms\": <milliseconds>}."),
        },
        ("POST", ["fail-next"]) => match (num("count"), num("status")) {
            (Some(c), Some(s)) if (400..600).contains(&s) => {
                admin.fail_next(c as u32, s as u16);
                admin_json(200, json!({"count": c, "status": s}))
            }
            _ => error(
                400,
                "0x80060888",
                "Expected {\"count\": n, \"status\": 400..599}.",
            ),
        },
        ("POST", ["truncate-next-page"]) => match num("rows") {
            Some(r) => {
                admin.truncate_next_page_after(r as usize);
                admin_json(200, json!({"rows": r}))
            }
            None => error(400, "0x80060888", "Expected {\"rows\": n}."),
        },
        ("POST", ["nonsense-next"]) => {
            let kind = args
                .get("kind")
                .and_then(J::as_str)
                .and_then(crate::Nonsense::from_name);
            let table = args.get("table").and_then(J::as_str);
            match (kind, num("count")) {
                (Some(k), Some(c)) => {
                    admin.nonsense_next_for(k, c.min(u32::MAX as u64) as u32, table);
                    admin_json(200, json!({"kind": k.name(), "count": c, "table": table}))
                }
                _ => error(
                    400,
                    "0x80060888",
                    "Expected {\"kind\": \"html\" | \"truncated\" | \"wrong_content_type\" | \"duplicate_rows\" | \"wrong_context\" | \"garbage\" | \"truncated_gzip\" | \"unasked_encoding\", \"count\": n, \"table\": optional entity set}.",
                ),
            }
        }
        ("POST", ["revoke-token"]) => {
            let on = args.get("on").and_then(J::as_bool).unwrap_or(true);
            let token = args
                .get("token")
                .and_then(J::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| user.token.clone());
            if !sh
                .users
                .iter()
                .any(|u| !u.token.is_empty() && u.token == token)
            {
                return error(
                    400,
                    "0x80060888",
                    "Expected {\"token\": <a user's token>, \"on\": bool}.",
                );
            }
            admin.set_token_revoked(&token, on);
            admin_json(200, json!({"on": on}))
        }
        ("POST", ["clear-faults"]) => {
            admin.clear_faults();
            admin_json(200, json!({}))
        }
        ("POST", ["expire-delta-tokens"]) => {
            admin.expire_delta_tokens();
            admin_json(200, json!({}))
        }
        ("POST", ["refuse-connections"]) => {
            let on = args.get("on").and_then(J::as_bool).unwrap_or(true);
            admin.set_refusing_connections(on);
            // Over HTTP nobody could switch it back: it turns itself off.
            if on {
                let ms = num("for_ms").unwrap_or(5000);
                let a = admin.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    a.set_refusing_connections(false);
                });
            }
            admin_json(200, json!({"on": on}))
        }
        (m, ["rows", set, rest @ ..]) => {
            let set = set.to_string();
            let id = match rest {
                [] => None,
                [id] => match uuid::Uuid::parse_str(id) {
                    Ok(u) => Some(u),
                    Err(_) => return error(400, "0x80060888", format!("'{id}' is not a GUID.")),
                },
                _ => return error(404, "0x8006088a", "Unknown admin path."),
            };
            let as_user = match args.get("as_user").and_then(J::as_str) {
                Some(s) => match uuid::Uuid::parse_str(s) {
                    Ok(u) => u,
                    Err(_) => return error(400, "0x80060888", "as_user must be a user id (GUID)."),
                },
                None => user.id,
            };
            let values = args.get("values").cloned().unwrap_or(json!({}));
            let m = m.to_string();
            let res = tokio::task::spawn_blocking(move || -> Result<J, crate::Error> {
                match (m.as_str(), id) {
                    ("GET", None) => Ok(json!({"value": admin.rows(&set)?})),
                    ("GET", Some(id)) => match admin.row(&set, id)? {
                        Some(r) => Ok(J::Object(r)),
                        None => Err(crate::Error::Api {
                            status: 404,
                            code: "0x80040217".into(),
                            message: format!("Row {id} does not exist."),
                        }),
                    },
                    ("POST", None) => Ok(json!({"id": admin.create_row(&set, as_user, values)?})),
                    ("PATCH", Some(id)) => {
                        admin.update_row(&set, id, as_user, values)?;
                        Ok(json!({"id": id}))
                    }
                    ("DELETE", Some(id)) => {
                        admin.delete_row(&set, id)?;
                        Ok(json!({"id": id}))
                    }
                    _ => Err(crate::Error::Api {
                        status: 405,
                        code: String::new(),
                        message: "Method not allowed here.".into(),
                    }),
                }
            })
            .await;
            match res {
                Ok(Ok(v)) => admin_json(200, v),
                Ok(Err(e)) => admin_error(e),
                Err(_) => error(500, "0x80040216", "admin task failed"),
            }
        }
        _ => error(
            404,
            "0x8006088a",
            format!("Unknown admin endpoint: {method} /admin/{rest}"),
        ),
    }
}
