//! Change tracking: delta links, delta shapes and order, paging, refusals, expiry.

use std::time::Duration;

use mooring_devserver::Config;
use serde_json::{Value, json};

use crate::common::{Env, env, ids, seeded};

async fn baseline(e: &Env, rel: &str, prefer: &str) -> (Vec<Value>, String) {
    let (rows, last, _) = e.read_all(rel, prefer).await;
    let dl = last["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink after the last page")
        .to_string();
    (rows, dl)
}

#[tokio::test]
async fn track_changes_gives_a_delta_link_after_the_last_page() {
    let e = seeded(25).await;
    let r = e
        .get_with(
            "accounts?$select=name",
            &[("Prefer", "odata.track-changes,odata.maxpagesize=10")],
        )
        .await;
    let pa = r.header("preference-applied").unwrap();
    assert!(
        pa.contains("odata.track-changes") && pa.contains("odata.maxpagesize=10"),
        "{pa}"
    );
    let v = r.json();
    assert!(
        v.get("@odata.deltaLink").is_none(),
        "no delta link before the last page"
    );
    let (rows, dl) = baseline(
        &e,
        "accounts?$select=name",
        "odata.track-changes,odata.maxpagesize=10",
    )
    .await;
    assert_eq!(rows.len(), 25);
    assert!(
        dl.starts_with(&format!("{}accounts?$select=name&$deltatoken=", e.base)),
        "{dl}"
    );
    // No changes: empty value, fresh delta link, context ends with /$delta.
    let v = e.get(&dl).await.json();
    assert_eq!(v["value"], json!([]));
    assert!(v["@odata.context"].as_str().unwrap().ends_with("/$delta"));
    assert!(v["@odata.deltaLink"].is_string());
}

#[tokio::test]
async fn delta_returns_changes_by_version_then_deletes() {
    let e = seeded(10).await;
    let (rows, dl) = baseline(&e, "accounts?$select=name,revenue", "odata.track-changes").await;
    let u = e.admin.users()[1].id;
    let a = uuid::Uuid::parse_str(rows[3]["accountid"].as_str().unwrap()).unwrap();
    let b = uuid::Uuid::parse_str(rows[7]["accountid"].as_str().unwrap()).unwrap();
    let gone = uuid::Uuid::parse_str(rows[5]["accountid"].as_str().unwrap()).unwrap();
    e.admin
        .update_row("accounts", b, u, json!({"name": "B changed first"}))
        .unwrap();
    let created = e
        .admin
        .create_row("accounts", u, json!({"name": "Created", "revenue": 10}))
        .unwrap();
    e.admin
        .update_row("accounts", a, u, json!({"revenue": 99}))
        .unwrap();
    e.admin.delete_row("accounts", gone).unwrap();
    let flash = e
        .admin
        .create_row("accounts", u, json!({"name": "Created then deleted"}))
        .unwrap();
    e.admin.delete_row("accounts", flash).unwrap();

    let r = e.get(&dl).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(
        v["@odata.context"],
        format!("{}$metadata#accounts(name,revenue)/$delta", e.base)
    );
    let value = v["value"].as_array().unwrap();
    let changed: Vec<&Value> = value
        .iter()
        .filter(|x| x.get("accountid").is_some())
        .collect();
    assert_eq!(
        ids(
            &changed.iter().map(|x| (*x).clone()).collect::<Vec<_>>(),
            "accountid"
        ),
        vec![b.to_string(), created.to_string(), a.to_string()],
        "by version"
    );
    assert_eq!(changed[0]["name"], "B changed first");
    assert_eq!(changed[2]["revenue"].as_f64(), Some(99.0));
    let deleted: Vec<&Value> = value.iter().skip(3).collect();
    assert_eq!(deleted.len(), 2, "{value:?}");
    for (d, id) in deleted.iter().zip([gone, flash]) {
        assert_eq!(d["id"], id.to_string());
        assert_eq!(d["reason"], "deleted");
        assert!(
            d["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#accounts/$deletedEntity")
        );
    }
    // The fresh link starts after these changes.
    let next = v["@odata.deltaLink"].as_str().unwrap();
    assert_eq!(e.get(next).await.json()["value"], json!([]));
    // The old link still answers the same changes.
    assert_eq!(
        e.get(&dl).await.json()["value"].as_array().unwrap().len(),
        5
    );
}

#[tokio::test]
async fn large_deltas_are_paged_with_next_links() {
    let e = seeded(40).await;
    let (rows, dl) = baseline(&e, "contacts?$select=lastname", "odata.track-changes").await;
    let u = e.admin.users()[0].id;
    for r in &rows[..30] {
        let id = uuid::Uuid::parse_str(r["contactid"].as_str().unwrap()).unwrap();
        e.admin
            .update_row("contacts", id, u, json!({"lastname": "Changed"}))
            .unwrap();
    }
    for r in &rows[30..38] {
        e.admin
            .delete_row(
                "contacts",
                uuid::Uuid::parse_str(r["contactid"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
    }
    let mut url = dl;
    let mut pages = 0;
    let mut changed = 0;
    let mut deleted = 0;
    loop {
        let v = e
            .get_with(&url, &[("Prefer", "odata.maxpagesize=7")])
            .await
            .json();
        pages += 1;
        for x in v["value"].as_array().unwrap() {
            if x.get("reason").is_some() {
                deleted += 1;
            } else {
                assert_eq!(deleted, 0, "deletes come after changes");
                changed += 1;
            }
        }
        if let Some(n) = v.get("@odata.nextLink").and_then(Value::as_str) {
            assert!(v.get("@odata.deltaLink").is_none());
            url = n.to_string();
        } else {
            assert!(v["@odata.deltaLink"].is_string());
            break;
        }
    }
    assert_eq!((changed, deleted), (30, 8));
    assert!(pages >= 6, "{pages}");
}

#[tokio::test]
async fn tracked_full_read_misses_nothing_changed_during_paging() {
    let e = seeded(50).await;
    let u = e.admin.users()[0].id;
    let mut url = e.url("accounts?$select=name");
    let mut seen = std::collections::HashMap::new();
    let mut made = Vec::new();
    let dl;
    loop {
        let v = e
            .get_with(
                &url,
                &[("Prefer", "odata.track-changes,odata.maxpagesize=10")],
            )
            .await
            .json();
        for r in v["value"].as_array().unwrap() {
            seen.insert(
                r["accountid"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
            );
        }
        made.push(
            e.admin
                .create_row("accounts", u, json!({"name": "made during read"}))
                .unwrap(),
        );
        if let Some(n) = v.get("@odata.nextLink").and_then(Value::as_str) {
            url = n.to_string();
        } else {
            dl = v["@odata.deltaLink"].as_str().unwrap().to_string();
            break;
        }
    }
    let v = e.get(&dl).await.json();
    for r in v["value"].as_array().unwrap() {
        seen.insert(
            r["accountid"].as_str().unwrap().to_string(),
            r["name"].as_str().unwrap().to_string(),
        );
    }
    for id in made {
        assert!(
            seen.contains_key(&id.to_string()),
            "row {id} created during the read is in the read or the delta"
        );
    }
    assert_eq!(seen.len(), e.admin.rows("accounts").unwrap().len());
}

#[tokio::test]
async fn track_changes_refuses_filter_orderby_expand_and_top() {
    let e = seeded(2).await;
    for opt in [
        "$filter=name eq 'x'",
        "$orderby=name",
        "$expand=primarycontactid",
        "$top=1",
    ] {
        let name = opt.split('=').next().unwrap();
        let r = e
            .get_with(
                &format!("accounts?{opt}"),
                &[("Prefer", "odata.track-changes")],
            )
            .await;
        assert_eq!(r.status, 400, "{opt}");
        assert_eq!(
            r.error().1,
            format!(
                "The \"{name}\" query parameter isn't supported when Change Tracking is enabled."
            )
        );
    }
}

#[tokio::test]
async fn delta_tokens_expire_after_retention() {
    let e = env(Config {
        seed_rows: 2,
        delta_retention: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let (_, dl) = baseline(&e, "accounts?$select=name", "odata.track-changes").await;
    assert_eq!(e.get(&dl).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = e.get(&dl).await;
    assert_eq!(r.status, 400);
    let (code, msg) = r.error();
    assert_eq!(code, "0x80044352");
    assert_eq!(
        msg,
        "Version stamp associated with the client has expired. Please perform a full sync."
    );
}

#[tokio::test]
async fn admin_can_expire_every_delta_token_now() {
    let e = seeded(2).await;
    let (_, dl) = baseline(&e, "accounts?$select=name", "odata.track-changes").await;
    e.admin.expire_delta_tokens();
    assert_eq!(e.get(&dl).await.error().0, "0x80044352");
    // Tokens issued afterwards work.
    let (_, dl2) = baseline(&e, "accounts?$select=name", "odata.track-changes").await;
    assert_eq!(e.get(&dl2).await.status, 200);
    // And over HTTP.
    let r = e
        .client
        .post(format!("{}/admin/expire-delta-tokens", e.server.root_url()))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(e.get(&dl2).await.error().0, "0x80044352");
    assert_eq!(e.get("accounts?$deltatoken=rubbish").await.status, 400);
}
