//! $batch: multipart in and out, atomic change sets, Content-ID references, limits.

use serde_json::json;

use crate::common::{Env, seeded};

async fn post_batch(e: &Env, boundary: &str, body: String) -> (u16, String, String) {
    let r = e
        .client
        .post(e.url("$batch"))
        .bearer_auth(&e.token)
        .header(
            "Content-Type",
            format!("multipart/mixed;boundary={boundary}"),
        )
        .header("OData-Version", "4.0")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().await.unwrap())
}

fn change(method: &str, url: &str, cid: u32, body: &serde_json::Value) -> String {
    format!(
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {cid}\r\n\r\n{method} {url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
    )
}

#[tokio::test]
async fn a_change_set_commits_together_with_content_id_references() {
    let e = seeded(0).await;
    let cs = format!(
        "--changeset_1\r\n{}--changeset_1\r\n{}--changeset_1\r\n{}--changeset_1--\r\n",
        change(
            "POST",
            &format!("{}accounts", e.base),
            1,
            &json!({"name": "Batch parent"})
        ),
        change(
            "POST",
            "/api/data/v9.2/contacts",
            2,
            &json!({"lastname": "Child", "parentcustomerid_account@odata.bind": "$1"})
        ),
        change("PATCH", "$1", 3, &json!({"telephone1": "555"})),
    );
    let body = format!(
        "--batch_A\r\nContent-Type: multipart/mixed;boundary=changeset_1\r\n\r\n{cs}--batch_A\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET accounts?$select=name,telephone1 HTTP/1.1\r\nAccept: application/json\r\n\r\n--batch_A--\r\n"
    );
    let (status, ct, text) = post_batch(&e, "batch_A", body).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        ct.starts_with("multipart/mixed; boundary=batchresponse_"),
        "{ct}"
    );
    assert!(
        text.contains("Content-Type: multipart/mixed; boundary=changesetresponse_"),
        "{text}"
    );
    assert_eq!(text.matches("HTTP/1.1 204 No Content").count(), 3, "{text}");
    assert!(text.contains("HTTP/1.1 200 OK"));
    assert!(
        text.contains("\"telephone1\":\"555\""),
        "the GET after the change set sees it: {text}"
    );
    let accounts = e.admin.rows("accounts").unwrap();
    let contacts = e.admin.rows("contacts").unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        contacts[0]["_parentcustomerid_value"], accounts[0]["accountid"],
        "$1 bound to the new account"
    );
    assert_eq!(e.admin.stats().batch_requests, 1);
}

#[tokio::test]
async fn a_failing_change_set_rolls_back_entirely() {
    let e = seeded(1).await;
    let before = e.admin.rows("accounts").unwrap();
    let existing = before[0]["accountid"].as_str().unwrap();
    let cs = format!(
        "--cs\r\n{}--cs\r\n{}--cs\r\n{}--cs--\r\n",
        change("POST", "accounts", 1, &json!({"name": "Will vanish"})),
        change(
            "PATCH",
            &format!("accounts({existing})"),
            2,
            &json!({"name": "Also vanishes"})
        ),
        change("POST", "accounts", 3, &json!({"versionnumber": 3})),
    );
    let body = format!("--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n{cs}--b--\r\n");
    let (status, _, text) = post_batch(&e, "b", body).await;
    assert_eq!(status, 200);
    assert!(text.contains("HTTP/1.1 400 Bad Request"), "{text}");
    assert!(
        !text.contains("changesetresponse"),
        "a failed change set answers with its error only: {text}"
    );
    assert_eq!(
        e.admin.rows("accounts").unwrap(),
        before,
        "nothing of the change set remains"
    );
}

#[tokio::test]
async fn batches_are_limited_to_1000_requests_and_malformed_ones_refused() {
    let e = seeded(0).await;
    let mut body = String::new();
    for _ in 0..1001 {
        body.push_str("--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n");
    }
    body.push_str("--b--\r\n");
    let (status, _, text) = post_batch(&e, "b", body).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("1000"));
    let mut ok = String::new();
    for _ in 0..1000 {
        ok.push_str("--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n");
    }
    ok.push_str("--b--\r\n");
    let (status, _, text) = post_batch(&e, "b", ok).await;
    assert_eq!(status, 200);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 1000);
    for bad in [
        "no parts at all",
        "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
        "--b\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n",
    ] {
        let (status, _, text) = post_batch(&e, "b", bad.to_string()).await;
        assert_eq!(status, 400, "{bad}: {text}");
    }
    // GET inside a change set is refused.
    let body = "--b\r\nContent-Type: multipart/mixed;boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n--c--\r\n--b--\r\n";
    let (_, _, text) = post_batch(&e, "b", body.into()).await;
    assert!(text.contains("HTTP/1.1 400"), "{text}");
}

#[tokio::test]
async fn a_failed_request_stops_the_batch_unless_continue_on_error() {
    let e = seeded(0).await;
    let part = |name: &str| {
        change("POST", "accounts", 0, &json!({"name": name})).replace("Content-ID: 0\r\n", "")
    };
    let body = format!(
        "--b\r\n{}--b\r\n{}--b\r\n{}--b--\r\n",
        part("one"),
        change("POST", "accounts", 0, &json!({"bad": 1})).replace("Content-ID: 0\r\n", ""),
        part("three")
    );
    let (_, _, text) = post_batch(&e, "b", body.clone()).await;
    assert_eq!(text.matches("HTTP/1.1").count(), 2, "{text}");
    assert_eq!(e.admin.rows("accounts").unwrap().len(), 1);
    let r = e
        .client
        .post(e.url("$batch"))
        .bearer_auth(&e.token)
        .header("Content-Type", "multipart/mixed;boundary=b")
        .header("Prefer", "odata.continue-on-error")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap().matches("HTTP/1.1").count(), 3);
    assert_eq!(e.admin.rows("accounts").unwrap().len(), 3);
}
