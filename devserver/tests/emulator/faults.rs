//! Fault injection, throttling, bad input, the binary, persistence.

use std::time::{Duration, Instant};

use mooring_devserver::Config;
use serde_json::json;

use crate::common::{env, seeded};

#[tokio::test]
async fn latency_and_failures_can_be_injected() {
    let e = seeded(1).await;
    e.admin.set_latency(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(e.get("WhoAmI").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    e.admin.set_latency(Duration::ZERO);
    e.admin.fail_next(2, 503);
    for _ in 0..2 {
        let r = e.get("accounts").await;
        assert_eq!(r.status, 503);
        assert!(!r.error().1.is_empty());
    }
    assert_eq!(e.get("accounts").await.status, 200);
    // Over HTTP.
    let root = e.server.root_url();
    let r = e
        .client
        .post(format!("{root}/admin/fail-next"))
        .bearer_auth(&e.token)
        .json(&json!({"count": 1, "status": 429}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = e.get("accounts").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.error().0, "0x80072322");
    let r = e
        .client
        .post(format!("{root}/admin/latency"))
        .bearer_auth(&e.token)
        .json(&json!({"ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = e
        .client
        .post(format!("{root}/admin/fail-next"))
        .bearer_auth(&e.token)
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_next_page_can_be_cut_mid_body() {
    let e = seeded(50).await;
    e.admin.truncate_next_page_after(7);
    let r = e
        .client
        .get(e.url("accounts?$select=name"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "headers go out before the cut");
    let body = r.bytes().await;
    assert!(body.is_err(), "the body must fail mid-way");
    // Only once: the next page is whole.
    let v = e.get("accounts?$select=name").await.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 50);
    // Over HTTP, and the partial body really holds 7 rows.
    let root = e.server.root_url();
    e.client
        .post(format!("{root}/admin/truncate-next-page"))
        .bearer_auth(&e.token)
        .json(&json!({"rows": 3}))
        .send()
        .await
        .unwrap();
    let mut r = e
        .client
        .get(e.url("accounts?$select=name"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut failed = false;
    loop {
        match r.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed);
    let text = String::from_utf8_lossy(&got);
    assert_eq!(text.matches("\"accountid\"").count(), 3, "{text}");
    assert!(serde_json::from_slice::<serde_json::Value>(&got).is_err());
}

#[tokio::test]
async fn refusing_connections_looks_like_an_unreachable_server() {
    let e = seeded(1).await;
    assert_eq!(e.get("WhoAmI").await.status, 200);
    e.admin.set_refusing_connections(true);
    let r = e
        .client
        .get(e.url("WhoAmI"))
        .bearer_auth(&e.token)
        .send()
        .await;
    assert!(r.is_err(), "pooled and new connections fail");
    let fresh = reqwest::Client::new();
    assert!(
        fresh
            .get(e.url("WhoAmI"))
            .bearer_auth(&e.token)
            .send()
            .await
            .is_err()
    );
    e.admin.set_refusing_connections(false);
    // Over HTTP it switches itself off after for_ms.
    let root = e.server.root_url();
    let r = reqwest::Client::new()
        .post(format!("{root}/admin/refuse-connections"))
        .bearer_auth(&e.token)
        .json(&json!({"on": true, "for_ms": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        reqwest::Client::new()
            .get(e.url("WhoAmI"))
            .bearer_auth(&e.token)
            .send()
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reqwest::Client::new()
            .get(e.url("WhoAmI"))
            .bearer_auth(&e.token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn past_the_request_budget_answers_429_with_retry_after() {
    let e = env(Config {
        request_budget: Some((5, Duration::from_secs(2))),
        ..Default::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(e.get("WhoAmI").await.status, 200);
    }
    let r = e.get("WhoAmI").await;
    assert_eq!(r.status, 429);
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs), "{secs}");
    let (code, msg) = r.error();
    assert_eq!(code, "0x80072322");
    assert!(
        msg.contains("Number of requests exceeded the limit of 5"),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(e.get("WhoAmI").await.status, 200, "the window resets");
}

#[tokio::test]
async fn bad_input_gets_4xx_and_never_breaks_the_server() {
    let e = env(Config {
        seed_rows: 2,
        max_body_bytes: 64 * 1024,
        ..Default::default()
    })
    .await;
    let big = json!({"name": "x".repeat(100_000)});
    let r = e
        .req(reqwest::Method::POST, "accounts", &[], Some(big))
        .await;
    assert_eq!(r.status, 413);
    assert!(!r.error().1.is_empty());
    for path in [
        "nosuchset",
        "accounts(",
        "accounts()",
        "accounts(1)",
        "accounts(%zz)",
        "accounts/extra/segments",
        "accounts?$filter=%E0%A4%A",
        "accounts?$select=%00",
        "EntityDefinitions(LogicalName='account')/Nope",
        "RetrieveTotalRecordCount(EntityNames=oops)",
        "$metadatax",
        "accounts?$top=-1",
        "accounts?$count=maybe",
        "accounts?$filter=((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
    ] {
        let r = e.get(path).await;
        assert!(
            (400..500).contains(&r.status.as_u16()),
            "{path}: {} {}",
            r.status,
            r.text
        );
        r.error();
    }
    let r = e
        .client
        .get(format!("{}/nowhere", e.server.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = e
        .req(reqwest::Method::PUT, "accounts", &[], Some(json!({})))
        .await;
    assert_eq!(r.status, 405);
    let r = e
        .req(
            reqwest::Method::POST,
            "accounts",
            &[],
            Some(json!({"numberofemployees": 99999999999i64})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(e.admin.rows("accounts").unwrap().len(), 2);
    assert_eq!(e.get("WhoAmI").await.status, 200, "still serving");
}

#[tokio::test]
async fn stats_count_requests_rows_and_batches() {
    let e = seeded(10).await;
    e.admin.reset_stats();
    e.get_with(
        "accounts?$select=name",
        &[("Prefer", "odata.maxpagesize=4")],
    )
    .await;
    e.get("WhoAmI").await;
    let s = e.admin.stats();
    assert_eq!((s.requests, s.rows_served, s.batch_requests), (2, 4, 0));
    e.admin.reset_stats();
    assert_eq!(e.admin.stats().requests, 0);
    let v: serde_json::Value = e
        .client
        .get(format!("{}/admin/stats", e.server.root_url()))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["requests"], 0);
}

#[tokio::test]
async fn a_database_file_persists_across_restarts() {
    let dir = std::env::temp_dir().join(format!("mooring-devserver-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("emu.sqlite");
    let cfg = Config {
        db_path: Some(path.clone()),
        seed_rows: 20,
        ..Default::default()
    };
    let e = env(cfg.clone()).await;
    let id = e
        .admin
        .create_row(
            "accounts",
            e.admin.users()[0].id,
            json!({"name": "Persisted"}),
        )
        .unwrap();
    let before = e.admin.rows("accounts").unwrap();
    let max_v = before
        .iter()
        .map(|r| r["versionnumber"].as_i64().unwrap())
        .max()
        .unwrap();
    e.server.shutdown().await;
    let e = env(cfg).await;
    assert_eq!(
        e.admin.rows("accounts").unwrap(),
        before,
        "no re-seed over existing rows"
    );
    e.admin
        .update_row(
            "accounts",
            id,
            e.admin.users()[0].id,
            json!({"name": "Again"}),
        )
        .unwrap();
    let v = e.get(&format!("accounts({id})")).await.json();
    assert!(
        v["versionnumber"].as_i64().unwrap() > max_v,
        "versions keep increasing after a restart"
    );
    e.server.shutdown().await;
    // The same file under another schema is refused at start, with the reason.
    let other = dir.join("schema.json");
    std::fs::write(
        &other,
        mooring_devserver::SAMPLE_SCHEMA.replace("\"telephone1\"", "\"telephone2\""),
    )
    .unwrap();
    let err = mooring_devserver::start(Config {
        db_path: Some(path.clone()),
        schema: Some(other),
        ..Default::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("telephone2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_prints_its_base_url_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring-devserver"))
        .args([
            "--port",
            "0",
            "--seed-rows",
            "5",
            "--token",
            "cli-token",
            "--user",
            "Second User=second-token",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with("http://127.0.0.1:") && line.ends_with("/api/data/v9.2/"),
        "{line}"
    );
    let client = reqwest::Client::new();
    let v: serde_json::Value = client
        .get(format!("{line}accounts?$count=true&$select=name"))
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["@odata.count"], 5);
    let r = client
        .get(format!("{line}WhoAmI"))
        .bearer_auth("second-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();
}

/// Deterministic random garbage: no request may get a 5xx or break the server.
#[tokio::test]
async fn random_garbage_never_gets_a_5xx() {
    let e = seeded(20).await;
    let id = e.admin.rows("contacts").unwrap()[0]["contactid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rng = fastrand::Rng::with_seed(2026);
    let segs = [
        "accounts",
        "contacts",
        &format!("contacts({id})"),
        "tasks/$count",
        "EntityDefinitions",
        "EntityDefinitions(LogicalName='contact')/Attributes",
        "WhoAmI",
        "RetrieveTotalRecordCount(EntityNames=['task'])",
        "$batch",
        "",
        "x(",
        "accounts(''')",
        "%",
    ];
    let opts = [
        "$select=",
        "$filter=",
        "$orderby=",
        "$top=",
        "$count=",
        "$expand=",
        "$skiptoken=",
        "$deltatoken=",
        "@p1=",
        "$select=name,",
        "$filter=lastname eq ",
    ];
    let atoms = [
        "name",
        "lastname",
        "eq",
        "ne",
        "(",
        ")",
        "'",
        "''",
        "and",
        "or",
        "not",
        "null",
        "1",
        "-2.5e3",
        "contains(",
        ",",
        "%20",
        "%27",
        "%28",
        "%zz",
        "%ff",
        "2026-01-01T00:00:00Z",
        &id,
        "_ownerid_value",
        "asc",
        "desc",
        "<cookie",
        "%3C",
        "!",
        "\u{e9}",
        "$1",
    ];
    let bodies = [
        "",
        "{",
        "{}",
        "[]",
        "null",
        "{\"lastname\":",
        "{\"lastname\":\"ok\"}",
        "{\"lastname\":1}",
        "{\"versionnumber\":1}",
        "{\"ownerid@odata.bind\":\"/systemusers(x)\"}",
        "{\"ownerid@odata.bind\":5}",
        "--b\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n--b--\r\n",
        "\u{0}\u{1}",
    ];
    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
    ];
    let mut sent = 0;
    let mut ok = 0;
    for _ in 0..400 {
        let mut url = segs[rng.usize(..segs.len())].to_string();
        if rng.bool() {
            url.push('?');
            for _ in 0..rng.usize(1..3) {
                url.push_str(opts[rng.usize(..opts.len())]);
                for _ in 0..rng.usize(0..6) {
                    url.push_str(atoms[rng.usize(..atoms.len())]);
                    if rng.bool() {
                        url.push_str("%20");
                    }
                }
                url.push('&');
            }
        }
        let method = methods[rng.usize(..methods.len())].clone();
        let body = bodies[rng.usize(..bodies.len())];
        let mut rb = e
            .client
            .request(method.clone(), format!("{}{}", e.base, url))
            .bearer_auth(&e.token);
        if url.starts_with("$batch") {
            rb = rb.header(
                "Content-Type",
                if rng.bool() {
                    "multipart/mixed;boundary=b"
                } else {
                    "multipart/mixed"
                },
            );
        }
        if rng.u8(..4) == 0 {
            rb = rb.header(
                "Prefer",
                [
                    "odata.maxpagesize=abc",
                    "odata.track-changes",
                    "return=representation",
                    "odata.maxpagesize=0",
                ][rng.usize(..4)],
            );
        }
        if rng.u8(..4) == 0 {
            rb = rb.header(
                ["If-Match", "If-None-Match"][rng.usize(..2)],
                ["*", "W/\"1\"", "garbage"][rng.usize(..3)],
            );
        }
        let Ok(r) = rb.body(body.to_string()).send().await else {
            continue;
        };
        sent += 1;
        let status = r.status();
        ok += usize::from(status.is_success());
        let text = r.text().await.unwrap_or_default();
        assert!(
            status.as_u16() < 500 || status.as_u16() == 501,
            "{method} {url} body {body:?} -> {status} {text}"
        );
    }
    assert!(sent > 380 && ok > 20, "sent {sent}, succeeded {ok}");
    assert_eq!(e.get("WhoAmI").await.status, 200);
}

#[tokio::test]
async fn past_the_concurrency_limit_answers_429_with_its_own_code() {
    let e = env(Config {
        seed_rows: 1,
        max_concurrent: Some(2),
        ..Default::default()
    })
    .await;
    e.admin.set_latency(Duration::from_millis(800));
    // Three at once against a limit of two: whichever arrives last is refused.
    let (a, b, c) = tokio::join!(e.get("WhoAmI"), e.get("WhoAmI"), e.get("WhoAmI"));
    let mut statuses: Vec<u16> = [&a, &b, &c].iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429]);
    let refused = [a, b, c].into_iter().find(|r| r.status == 429).unwrap();
    assert_eq!(refused.error().0, "0x80072326");
    assert!(refused.header("retry-after").is_some());
    e.admin.set_latency(Duration::ZERO);
    assert_eq!(
        e.get("WhoAmI").await.status,
        200,
        "slots are freed when requests end"
    );
}

/// Every kind of nonsense, one per entity read, then sane pages again; the
/// probe (WhoAmI) and single-row reads are never touched.
#[tokio::test]
async fn entity_reads_can_answer_nonsense() {
    use mooring_devserver::Nonsense;
    let e = seeded(5).await;
    let good = e.get("accounts?$select=name").await;
    let good_rows = good.json()["value"].as_array().unwrap().len();
    assert_eq!(good_rows, 5);
    let ct = |r: &crate::common::Resp| r.header("content-type").unwrap_or_default();

    e.admin.nonsense_next(Nonsense::Html, 1);
    assert_eq!(e.get("WhoAmI").await.status, 200, "the probe stays sane");
    let r = e.get("accounts?$select=name").await;
    assert_eq!(r.status, 200);
    assert!(ct(&r).starts_with("text/html"), "{}", ct(&r));
    assert!(r.text.starts_with("<!DOCTYPE html>"));

    e.admin.nonsense_next(Nonsense::Truncated, 1);
    let r = e.get("accounts?$select=name").await;
    assert_eq!(r.status, 200);
    assert!(ct(&r).starts_with("application/json"));
    let err = serde_json::from_str::<serde_json::Value>(&r.text).unwrap_err();
    assert!(err.is_eof(), "cut, not malformed: {err}");

    e.admin.nonsense_next(Nonsense::WrongContentType, 1);
    let r = e.get("accounts?$select=name").await;
    assert!(ct(&r).starts_with("text/plain"));
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 5);

    e.admin.nonsense_next(Nonsense::DuplicateRows, 1);
    let v = e.get("accounts?$select=name").await.json();
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0]["accountid"], rows[5]["accountid"]);

    e.admin.nonsense_next(Nonsense::WrongContext, 1);
    let v = e.get("accounts?$select=name").await.json();
    let ctx = v["@odata.context"].as_str().unwrap();
    assert!(ctx.contains("$metadata#someothertables("), "{ctx}");
    assert_eq!(v["value"].as_array().unwrap().len(), 5);

    e.admin.nonsense_next(Nonsense::Garbage, 1);
    let r = e.get("accounts?$select=name").await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());

    // Spent: sane again. Errors are never rewritten.
    assert_eq!(
        e.get("accounts?$select=name").await.json()["value"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    e.admin.nonsense_next(Nonsense::Html, 1);
    assert_eq!(
        e.get("accounts?$filter=nosuchcolumn eq 1").await.status,
        400
    );
    assert!(
        e.get("accounts?$select=name")
            .await
            .text
            .starts_with("<!DOCTYPE")
    );

    // Over HTTP, with a count, and a bad request.
    let root = e.server.root_url();
    let post = |body: serde_json::Value| {
        e.client
            .post(format!("{root}/admin/nonsense-next"))
            .bearer_auth(&e.token)
            .json(&body)
            .send()
    };
    assert_eq!(
        post(json!({"kind": "garbage", "count": 2}))
            .await
            .unwrap()
            .status(),
        200
    );
    for _ in 0..2 {
        assert!(
            e.get("accounts?$select=name")
                .await
                .text
                .contains("garbage")
        );
    }
    assert_eq!(e.get("accounts?$select=name").await.status, 200);
    assert_eq!(
        post(json!({"kind": "nonsense", "count": 1}))
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn a_token_can_be_revoked_then_restored_and_faults_cleared() {
    let e = seeded(1).await;
    let root = e.server.root_url();
    let admin = |path: &str, body: serde_json::Value| {
        e.client
            .post(format!("{root}/admin/{path}"))
            .bearer_auth(&e.token)
            .json(&body)
            .send()
    };
    // Over HTTP: the caller's own token by default.
    let r = admin("revoke-token", json!({"on": true})).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = e.get("WhoAmI").await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token"))
    );
    assert!(!r.text.contains(&e.token), "no token in the answer");
    // The admin API still takes it, so it can be restored.
    let r = admin("revoke-token", json!({"token": e.token, "on": false}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(e.get("WhoAmI").await.status, 200);
    let r = admin("revoke-token", json!({"token": "nobody's", "on": true}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "only a user's token can be revoked");

    // Every fault at once, then one switch clears them all.
    e.admin.set_token_revoked(&e.token, true);
    e.admin.set_latency(Duration::from_millis(2_000));
    e.admin.fail_next(5, 500);
    e.admin.truncate_next_page_after(0);
    e.admin.nonsense_next(mooring_devserver::Nonsense::Html, 5);
    let r = admin("clear-faults", json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    let t = Instant::now();
    let r = e.get("accounts").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["value"].as_array().map(Vec::len), Some(1));
    assert!(t.elapsed() < Duration::from_millis(1_500), "latency off");
    e.admin.set_refusing_connections(true);
    e.admin.clear_faults();
    assert_eq!(e.get("WhoAmI").await.status, 200, "connections accepted");
}

/// gzip only when asked (as Dataverse), the same JSON either way, and the
/// stats count the bytes on the wire apart from the JSON.
#[tokio::test]
async fn answers_are_compressed_only_when_asked() {
    use std::io::Read;
    let e = seeded(300).await;
    let url = e.url("accounts?$select=name,telephone1,address1_city");
    let get = |gzip: bool| {
        let mut rb = e
            .client
            .get(&url)
            .bearer_auth(&e.token)
            .header("Accept", "application/json");
        if gzip {
            rb = rb.header("Accept-Encoding", "gzip");
        }
        rb.send()
    };
    e.admin.reset_stats();
    let plain = get(false).await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None, "not asked");
    let plain = plain.bytes().await.unwrap();
    let plain_stats = e.admin.stats();
    assert!(plain_stats.wire_bytes > plain.len() as u64, "headers too");
    assert_eq!(plain_stats.body_bytes, plain.len() as u64);

    e.admin.reset_stats();
    let zipped = get(true).await.unwrap();
    assert_eq!(
        zipped
            .headers()
            .get("content-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let zipped = zipped.bytes().await.unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut json)
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(a, b, "the same page");
    let s = e.admin.stats();
    assert_eq!(s.body_bytes, json.len() as u64);
    assert!(
        s.wire_bytes * 3 < s.body_bytes,
        "compressed on the wire: {s:?}"
    );
}
