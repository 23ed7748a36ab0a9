//! Writes: POST, PATCH update and upsert, DELETE, conditions, validation, lookups.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::seeded;

#[tokio::test]
async fn post_creates_with_204_and_entity_id_or_201_with_representation() {
    let e = seeded(1).await;
    let r = e
        .req(
            Method::POST,
            "accounts",
            &[],
            Some(json!({"name": "Fresh", "revenue": 1200.5, "numberofemployees": 7})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let loc = r.header("odata-entityid").unwrap();
    let id = loc
        .strip_prefix(&format!("{}accounts(", e.base))
        .and_then(|s| s.strip_suffix(')'))
        .expect(&loc);
    let row = e.get(&format!("accounts({id})")).await.json();
    assert_eq!(row["name"], "Fresh");
    assert_eq!(row["revenue"].as_f64(), Some(1200.5));
    assert_eq!(
        row["_ownerid_value"],
        e.admin.users()[0].id.to_string(),
        "owner defaults to the caller"
    );
    assert!(row["modifiedon"].as_str().unwrap().ends_with('Z'));

    let r = e
        .req(
            Method::POST,
            "accounts?$select=name",
            &[("Prefer", "return=representation")],
            Some(json!({"name": "Shown"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("preference-applied").as_deref(),
        Some("return=representation")
    );
    let v = r.json();
    assert_eq!(v["name"], "Shown");
    assert!(v["@odata.etag"].as_str().unwrap().starts_with("W/\""));
    assert!(v["accountid"].is_string());
}

#[tokio::test]
async fn a_client_supplied_key_is_honoured_and_duplicates_refused() {
    let e = seeded(0).await;
    let id = uuid::Uuid::new_v4();
    let r = e
        .req(
            Method::POST,
            "accounts",
            &[],
            Some(json!({"accountid": id, "name": "Mine"})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("odata-entityid").unwrap(),
        format!("{}accounts({id})", e.base)
    );
    let r = e
        .req(
            Method::POST,
            "accounts",
            &[],
            Some(json!({"accountid": id, "name": "Again"})),
        )
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(
        r.error().1,
        "A record with matching key values already exists."
    );
}

#[tokio::test]
async fn patch_updates_and_upserts_and_versions_increase_server_wide() {
    let e = seeded(2).await;
    let rows = e.admin.rows("accounts").unwrap();
    let id = rows[0]["accountid"].as_str().unwrap();
    let v0: i64 = rows
        .iter()
        .map(|r| r["versionnumber"].as_i64().unwrap())
        .max()
        .unwrap();
    let r = e
        .req(
            Method::PATCH,
            &format!("accounts({id})"),
            &[],
            Some(json!({"name": "Patched"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let after = e.get(&format!("accounts({id})")).await.json();
    assert_eq!(after["name"], "Patched");
    let v1 = after["versionnumber"].as_i64().unwrap();
    assert!(v1 > v0, "versionnumber increases across the whole server");
    assert_eq!(
        after["accountnumber"], rows[0]["accountnumber"],
        "untouched columns stay"
    );
    assert!(after["modifiedon"].as_str().unwrap() >= rows[0]["modifiedon"].as_str().unwrap());
    // A contact change bumps the same counter.
    let cid = e.admin.rows("contacts").unwrap()[0]["contactid"]
        .as_str()
        .unwrap()
        .to_string();
    e.req(
        Method::PATCH,
        &format!("contacts({cid})"),
        &[],
        Some(json!({"firstname": "X"})),
    )
    .await;
    let cv = e.get(&format!("contacts({cid})")).await.json()["versionnumber"]
        .as_i64()
        .unwrap();
    assert!(cv > v1);
    // Upsert: PATCH to a missing key creates it.
    let new = uuid::Uuid::new_v4();
    let r = e
        .req(
            Method::PATCH,
            &format!("accounts({new})"),
            &[],
            Some(json!({"name": "Upserted"})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        e.get(&format!("accounts({new})")).await.json()["name"],
        "Upserted"
    );
    let r = e
        .req(
            Method::PATCH,
            &format!("accounts({new})?$select=name"),
            &[("Prefer", "return=representation")],
            Some(json!({"name": "Again"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "Again");
}

#[tokio::test]
async fn conditional_writes_answer_412_and_404_as_documented() {
    let e = seeded(1).await;
    let row = e.admin.rows("accounts").unwrap()[0].clone();
    let id = row["accountid"].as_str().unwrap();
    let etag = row["@odata.etag"].as_str().unwrap();
    let url = format!("accounts({id})");
    let r = e
        .req(
            Method::PATCH,
            &url,
            &[("If-Match", "W/\"1\"")],
            Some(json!({"name": "no"})),
        )
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(
        r.error().1,
        "The version of the existing record doesn't match the RowVersion property provided."
    );
    let r = e
        .req(
            Method::PATCH,
            &url,
            &[("If-Match", etag)],
            Some(json!({"name": "yes"})),
        )
        .await;
    assert_eq!(r.status, 204);
    // The old etag is now stale.
    assert_eq!(
        e.req(Method::DELETE, &url, &[("If-Match", etag)], None)
            .await
            .status,
        412
    );
    let missing = format!("accounts({})", uuid::Uuid::new_v4());
    let r = e
        .req(
            Method::PATCH,
            &missing,
            &[("If-Match", "*")],
            Some(json!({"name": "never created"})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        e.get(&missing).await.status,
        404,
        "If-Match: * never creates"
    );
    let r = e
        .req(
            Method::PATCH,
            &url,
            &[("If-None-Match", "*")],
            Some(json!({"name": "never updated"})),
        )
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(
        r.error().1,
        "A record with matching key values already exists."
    );
    assert_eq!(
        e.req(
            Method::PATCH,
            &missing,
            &[("If-None-Match", "*")],
            Some(json!({"name": "created"}))
        )
        .await
        .status,
        204
    );
    // GET with the current etag: 304.
    let cur = e.get(&url).await.json()["@odata.etag"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.get_with(&url, &[("If-None-Match", &cur)]).await.status,
        304
    );
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let e = seeded(2).await;
    let id = e.admin.rows("accounts").unwrap()[0]["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.req(Method::DELETE, &format!("accounts({id})"), &[], None)
            .await
            .status,
        204
    );
    let r = e
        .req(Method::DELETE, &format!("accounts({id})"), &[], None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error().0, "0x80040217");
    assert_eq!(e.admin.rows("accounts").unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_writes_are_refused_without_changing_data() {
    let e = seeded(1).await;
    let before = e.admin.rows("accounts").unwrap();
    let id = before[0]["accountid"].as_str().unwrap();
    let url = format!("accounts({id})");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"versionnumber": 5}), "versionnumber"),
        (json!({"createdon": "2020-01-01T00:00:00Z"}), "createdon"),
        (json!({"modifiedon": "2020-01-01T00:00:00Z"}), "modifiedon"),
        (json!({"numberofemployees": "many"}), "numberofemployees"),
        (json!({"numberofemployees": 1.5}), "numberofemployees"),
        (json!({"revenue": "lots"}), "revenue"),
        (json!({"name": 12}), "name"),
        (json!({"nosuch": 1}), "nosuch"),
        (
            json!({"_ownerid_value": uuid::Uuid::new_v4()}),
            "_ownerid_value",
        ),
        (json!({"ownerid": uuid::Uuid::new_v4()}), "ownerid"),
        (json!({"name": "x".repeat(161)}), "name"),
        (
            json!({"wrongnav@odata.bind": "/systemusers(00000000-0000-0000-0000-000000000001)"}),
            "wrongnav",
        ),
    ];
    for (body, needle) in cases {
        let r = e.req(Method::PATCH, &url, &[], Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.error().1.contains(needle), "{body}: {}", r.text);
    }
    for raw in ["{not json", "[1,2]", "", "null"] {
        let r = e
            .client
            .patch(e.url(&url))
            .bearer_auth(&e.token)
            .header("Content-Type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{raw}");
    }
    assert_eq!(e.admin.rows("accounts").unwrap(), before, "nothing changed");
}

#[tokio::test]
async fn lookups_are_written_through_navigation_properties() {
    let e = seeded(3).await;
    let account = e.admin.rows("accounts").unwrap()[0]["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    let other = e.admin.users()[1].id;
    let r = e
        .req(
            Method::POST,
            "contacts",
            &[
                ("Prefer", "return=representation"),
                ("Prefer", "odata.include-annotations=\"*\""),
            ],
            Some(json!({
                "lastname": "Bound",
                "parentcustomerid_account@odata.bind": format!("/accounts({account})"),
                "ownerid@odata.bind": format!("/systemusers({other})"),
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = r.json();
    assert_eq!(c["_parentcustomerid_value"], account);
    assert_eq!(
        c["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"],
        "account"
    );
    assert_eq!(c["_ownerid_value"], other.to_string());
    let contact = c["contactid"].as_str().unwrap().to_string();
    // Full URLs work too; opportunities and tasks use their own navigation names.
    let r = e.req(Method::POST, "opportunities", &[], Some(json!({"name": "Deal", "parentaccountid@odata.bind": format!("{}accounts({account})", e.base)}))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = e.req(Method::POST, "tasks", &[("Prefer", "return=representation")], Some(json!({"subject": "Call", "regardingobjectid_contact_task@odata.bind": format!("/contacts({contact})")}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["_regardingobjectid_value"], contact);
    // Clearing a lookup with null.
    let r = e
        .req(
            Method::PATCH,
            &format!("contacts({contact})"),
            &[],
            Some(json!({"parentcustomerid_account@odata.bind": null})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        e.get(&format!("contacts({contact})")).await.json()["_parentcustomerid_value"].is_null()
    );
    // Binding to a missing row or the wrong table fails.
    let r = e.req(Method::POST, "contacts", &[], Some(json!({"parentcustomerid_account@odata.bind": format!("/accounts({})", uuid::Uuid::new_v4())}))).await;
    assert_eq!(r.status, 404);
    let r = e
        .req(
            Method::POST,
            "contacts",
            &[],
            Some(json!({"parentcustomerid_account@odata.bind": format!("/contacts({contact})")})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = e
        .req(
            Method::POST,
            "contacts",
            &[],
            Some(json!({"parentcustomerid@odata.bind": format!("/accounts({account})")})),
        )
        .await;
    assert_eq!(
        r.status, 400,
        "Dataverse names the customer lookup's navigation per target"
    );
}

#[tokio::test]
async fn admin_edits_rows_as_another_user() {
    let e = seeded(2).await;
    let other = e.admin.users()[1].clone();
    let id = e
        .admin
        .create_row("accounts", other.id, json!({"name": "Theirs"}))
        .unwrap();
    let row = e.get(&format!("accounts({id})")).await.json();
    assert_eq!(row["_ownerid_value"], other.id.to_string());
    e.admin
        .update_row("accounts", id, other.id, json!({"name": "Theirs, renamed"}))
        .unwrap();
    assert_eq!(
        e.get(&format!("accounts({id})")).await.json()["name"],
        "Theirs, renamed"
    );
    assert!(
        e.admin
            .update_row("accounts", id, other.id, json!({"versionnumber": 1}))
            .is_err()
    );
    let rows = e.admin.rows("accounts").unwrap();
    let keys: Vec<&str> = rows
        .iter()
        .map(|r| r["accountid"].as_str().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "rows() is ordered by key");
    e.admin.delete_row("accounts", id).unwrap();
    assert_eq!(e.get(&format!("accounts({id})")).await.status, 404);
    // Over HTTP.
    let root = e.server.root_url();
    let r: Value = e
        .client
        .post(format!("{root}/admin/rows/accounts"))
        .bearer_auth(&e.token)
        .json(&json!({"as_user": other.id, "values": {"name": "via http"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap();
    assert_eq!(
        e.get(&format!("accounts({id})")).await.json()["_ownerid_value"],
        other.id.to_string()
    );
    let r = e
        .client
        .delete(format!("{root}/admin/rows/accounts/{id}"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = e
        .client
        .delete(format!("{root}/admin/rows/accounts/{id}"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
