//! Reading: auth, $select, lookups, $filter, $orderby, $top, $count, paging.

use std::collections::HashSet;

use mooring_devserver::Config;
use serde_json::Value;

use crate::common::{env, ids, seeded};

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_an_error_body() {
    let e = seeded(3).await;
    for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let mut rb = e.client.get(e.url("accounts"));
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let r = e
        .client
        .get(format!("{}/admin/stats", e.server.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the admin API needs the token too");
}

#[tokio::test]
async fn select_returns_etag_selected_columns_and_key_only() {
    let e = seeded(5).await;
    let r = e.get("accounts?$select=name,revenue,_ownerid_value").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.header("odata-version").as_deref(), Some("4.0"));
    let v = r.json();
    assert_eq!(
        v["@odata.context"],
        format!("{}$metadata#accounts(name,revenue,_ownerid_value)", e.base)
    );
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let o = row.as_object().unwrap();
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "@odata.etag",
                "_ownerid_value",
                "accountid",
                "name",
                "revenue"
            ]
        );
        let etag = o["@odata.etag"].as_str().unwrap();
        assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
        assert!(o["name"].is_string() && o["revenue"].is_number());
        uuid::Uuid::parse_str(o["_ownerid_value"].as_str().unwrap()).unwrap();
    }
    let r = e.get("accounts?$select=name,nosuchcolumn").await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("nosuchcolumn"));
    // A lookup is selected by its _x_value name, not its logical name.
    assert_eq!(e.get("accounts?$select=ownerid").await.status, 400);
}

#[tokio::test]
async fn without_select_every_column_comes_back_with_dates_in_utc() {
    let e = seeded(2).await;
    let v = e.get("contacts").await.json();
    let row = &v["value"][0];
    for k in [
        "contactid",
        "firstname",
        "lastname",
        "emailaddress1",
        "_parentcustomerid_value",
        "_ownerid_value",
        "createdon",
        "modifiedon",
        "versionnumber",
    ] {
        assert!(row.get(k).is_some(), "missing {k} in {row}");
    }
    let created = row["createdon"].as_str().unwrap();
    assert_eq!(created.len(), 20, "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[10] == b'T');
    let etag = row["@odata.etag"].as_str().unwrap();
    assert_eq!(etag, format!("W/\"{}\"", row["versionnumber"]));
}

#[tokio::test]
async fn lookup_annotations_come_with_include_annotations() {
    let e = seeded(20).await;
    let plain = e
        .get("contacts?$select=_parentcustomerid_value")
        .await
        .json();
    assert!(
        plain["value"][0]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("_value@"))
    );
    let r = e
        .get_with(
            "contacts?$select=_parentcustomerid_value",
            &[("Prefer", "odata.include-annotations=\"*\"")],
        )
        .await;
    let v = r.json();
    assert!(
        r.header("preference-applied")
            .unwrap()
            .contains("odata.include-annotations")
    );
    let names: std::collections::HashMap<String, String> = e
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["accountid"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut checked = 0;
    for c in v["value"].as_array().unwrap() {
        let Some(parent) = c["_parentcustomerid_value"].as_str() else {
            continue;
        };
        let k = "_parentcustomerid_value@";
        assert_eq!(
            c[format!("{k}Microsoft.Dynamics.CRM.lookuplogicalname")],
            "account"
        );
        assert_eq!(
            c[format!("{k}Microsoft.Dynamics.CRM.associatednavigationproperty")],
            "parentcustomerid_account"
        );
        assert_eq!(
            c[format!("{k}OData.Community.Display.V1.FormattedValue")].as_str(),
            Some(names[parent].as_str())
        );
        checked += 1;
    }
    assert!(checked > 10);
    // Only the CRM annotations: no formatted values.
    let v = e
        .get_with(
            "accounts?$select=statecode,_ownerid_value",
            &[(
                "Prefer",
                "odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"",
            )],
        )
        .await
        .json();
    let row = v["value"][0].as_object().unwrap();
    assert_eq!(
        row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"],
        "systemuser"
    );
    assert!(row.keys().all(|k| !k.contains("FormattedValue")), "{row:?}");
    // Formatted values only: the owner's full name and the state label.
    let users = e.admin.users();
    let v = e
        .get_with(
            "accounts?$select=statecode,_ownerid_value",
            &[(
                "Prefer",
                "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"",
            )],
        )
        .await
        .json();
    for row in v["value"].as_array().unwrap() {
        let owner = users
            .iter()
            .find(|u| row["_ownerid_value"] == u.id.to_string())
            .unwrap();
        assert_eq!(
            row["_ownerid_value@OData.Community.Display.V1.FormattedValue"],
            owner.name.as_str()
        );
        let label = if row["statecode"] == 0 {
            "Active"
        } else {
            "Inactive"
        };
        assert_eq!(
            row["statecode@OData.Community.Display.V1.FormattedValue"],
            label
        );
        assert!(
            row.get("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
                .is_none()
        );
    }
}

#[tokio::test]
async fn seeded_lookups_point_at_existing_rows_and_owners_are_spread() {
    let e = seeded(200).await;
    let accounts: HashSet<String> = e
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .map(|r| r["accountid"].as_str().unwrap().to_string())
        .collect();
    let contacts = e.admin.rows("contacts").unwrap();
    let users: HashSet<String> = e.admin.users().iter().map(|u| u.id.to_string()).collect();
    let mut owners = HashSet::new();
    for c in &contacts {
        if let Some(p) = c["_parentcustomerid_value"].as_str() {
            assert!(accounts.contains(p), "dangling parent {p}");
        }
        let o = c["_ownerid_value"].as_str().unwrap().to_string();
        assert!(users.contains(&o));
        owners.insert(o);
    }
    assert!(
        owners.len() >= 3,
        "rows spread over a few users: {owners:?}"
    );
    let contact_ids: HashSet<String> = contacts
        .iter()
        .map(|r| r["contactid"].as_str().unwrap().to_string())
        .collect();
    for t in e.admin.rows("tasks").unwrap() {
        if let Some(p) = t["_regardingobjectid_value"].as_str() {
            assert!(contact_ids.contains(p));
        }
    }
    for o in e.admin.rows("opportunities").unwrap() {
        if let Some(p) = o["_parentaccountid_value"].as_str() {
            assert!(accounts.contains(p));
        }
    }
}

#[tokio::test]
async fn the_seed_is_deterministic() {
    let a = env(Config {
        seed_rows: 30,
        seed: 7,
        ..Default::default()
    })
    .await;
    let b = env(Config {
        seed_rows: 30,
        seed: 7,
        ..Default::default()
    })
    .await;
    let c = env(Config {
        seed_rows: 30,
        seed: 8,
        ..Default::default()
    })
    .await;
    let ra = a.admin.rows("contacts").unwrap();
    assert_eq!(ra, b.admin.rows("contacts").unwrap());
    assert_ne!(ra, c.admin.rows("contacts").unwrap());
    assert_eq!(ra.len(), 30);
}

/// Evaluates the same conditions in the test over admin rows, independently.
#[tokio::test]
async fn filter_operators_match_an_independent_evaluation() {
    let e = seeded(300).await;
    let rows: Vec<Value> = e
        .admin
        .rows("accounts")
        .unwrap()
        .into_iter()
        .map(Value::Object)
        .collect();
    let rev = |r: &Value| r["revenue"].as_f64().unwrap();
    let name = |r: &Value| r["name"].as_str().unwrap().to_string();
    let pivot = {
        let mut v: Vec<f64> = rows.iter().map(rev).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let some_name = name(&rows[17]);
    let some_id = rows[42]["accountid"].as_str().unwrap().to_string();
    let some_owner = rows[3]["_ownerid_value"].as_str().unwrap().to_string();
    let created = rows[9]["createdon"].as_str().unwrap().to_string();
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let (n2, c2, own2, id2) = (
        some_name.clone(),
        created.clone(),
        some_owner.clone(),
        some_id.clone(),
    );
    let cases: Vec<(String, Pred)> = vec![
        (
            format!("revenue gt {pivot}"),
            Box::new(move |r| rev(r) > pivot),
        ),
        (
            format!("revenue ge {pivot}"),
            Box::new(move |r| rev(r) >= pivot),
        ),
        (
            format!("revenue lt {pivot}"),
            Box::new(move |r| rev(r) < pivot),
        ),
        (
            format!("revenue le {pivot} and statecode eq 0"),
            Box::new(move |r| rev(r) <= pivot && r["statecode"] == 0),
        ),
        (
            format!("name eq '{}'", some_name.replace('\'', "''")),
            Box::new(move |r| name(r).to_lowercase() == n2.to_lowercase()),
        ),
        (format!("name ne '{}'", some_name.replace('\'', "''")), {
            let n = some_name.clone();
            Box::new(move |r| r["name"].as_str().unwrap().to_lowercase() != n.to_lowercase())
        }),
        (
            "contains(name,'coffee')".into(),
            Box::new(|r| {
                r["name"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("coffee")
            }),
        ),
        (
            "startswith(name,'north')".into(),
            Box::new(|r| {
                r["name"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .starts_with("north")
            }),
        ),
        (
            "endswith(name,'ltd')".into(),
            Box::new(|r| r["name"].as_str().unwrap().to_lowercase().ends_with("ltd")),
        ),
        (
            "not (statecode eq 0) or (numberofemployees lt 100)".into(),
            Box::new(|r| r["statecode"] != 0 || r["numberofemployees"].as_i64().unwrap() < 100),
        ),
        (
            format!("_ownerid_value eq {some_owner}"),
            Box::new(move |r| r["_ownerid_value"] == own2.as_str()),
        ),
        (
            format!("accountid eq {some_id}"),
            Box::new(move |r| r["accountid"] == id2.as_str()),
        ),
        (
            format!("createdon gt {created}"),
            Box::new(move |r| r["createdon"].as_str().unwrap() > c2.as_str()),
        ),
        (
            "telephone1 eq null".into(),
            Box::new(|r| r["telephone1"].is_null()),
        ),
        (
            "telephone1 ne null".into(),
            Box::new(|r| !r["telephone1"].is_null()),
        ),
    ];
    for (f, pred) in cases {
        let expected: Vec<String> = rows
            .iter()
            .filter(|r| pred(r))
            .map(|r| r["accountid"].as_str().unwrap().to_string())
            .collect();
        let (got, _, _) = e
            .read_all(
                &format!("accounts?$select=name&$filter={f}"),
                "odata.maxpagesize=5000",
            )
            .await;
        assert_eq!(ids(&got, "accountid"), expected, "filter {f}");
    }
    // A created row with a null column: `ne` includes it, `eq` does not.
    let id = e
        .admin
        .create_row(
            "accounts",
            e.admin.users()[0].id,
            serde_json::json!({"name": "Nullable"}),
        )
        .unwrap();
    let (got, _, _) = e.read_all("accounts?$filter=revenue ne 5", "").await;
    assert!(ids(&got, "accountid").contains(&id.to_string()));
}

#[tokio::test]
async fn bad_filters_are_400_naming_the_problem() {
    let e = seeded(3).await;
    for (f, needle) in [
        ("nosuch eq 1", "nosuch"),
        ("name eq", "end of expression"),
        ("name eq 'x' and", "end of expression"),
        ("(name eq 'x'", "')'"),
        ("name lt 'a' )", ")"),
        ("revenue eq 'abc'", "Edm.String"),
        ("name foo 'x'", "foo"),
        ("contains(revenue,'1')", "text"),
        ("createdon gt 2026-13-45T00:00:00Z", "2026-13-45"),
        ("name eq 'unterminated", "unterminated"),
    ] {
        let r = e.get(&format!("accounts?$filter={f}")).await;
        assert_eq!(r.status, 400, "{f}: {}", r.text);
        let (_, msg) = r.error();
        assert!(msg.contains(needle), "{f}: {msg}");
    }
    assert_eq!(e.get("accounts?$orderby=name sideways").await.status, 400);
    assert_eq!(e.get("accounts?$orderby=nosuch").await.status, 400);
    assert_eq!(e.get("accounts?$top=abc").await.status, 400);
    assert_eq!(e.get("accounts?$skip=10").await.status, 400);
    assert_eq!(e.get("accounts?$frobnicate=1").await.status, 400);
}

#[tokio::test]
async fn orderby_top_and_count() {
    let e = seeded(50).await;
    let v = e
        .get("accounts?$select=name,revenue&$orderby=revenue desc,name&$top=10&$count=true")
        .await
        .json();
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(v["@odata.count"], 50);
    assert!(v.get("@odata.nextLink").is_none(), "$top does not page");
    let revs: Vec<f64> = rows
        .iter()
        .map(|r| r["revenue"].as_f64().unwrap())
        .collect();
    assert!(revs.windows(2).all(|w| w[0] >= w[1]), "{revs:?}");
    let mut all: Vec<f64> = e
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .map(|r| r["revenue"].as_f64().unwrap())
        .collect();
    all.sort_by(|a, b| b.partial_cmp(a).unwrap());
    assert_eq!(revs, all[..10].to_vec());
    // Paging through an ordered query keeps the order across pages.
    let (rows, _, pages) = e
        .read_all(
            "accounts?$select=name&$orderby=name desc",
            "odata.maxpagesize=7",
        )
        .await;
    assert_eq!(rows.len(), 50);
    assert!(pages >= 8);
    let names: Vec<String> = rows
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));
    // Ordering by the key itself, descending, pages too.
    let (rows, _, _) = e
        .read_all(
            "accounts?$select=name&$orderby=accountid desc",
            "odata.maxpagesize=9",
        )
        .await;
    let keys = ids(&rows, "accountid");
    let mut expected = keys.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(keys.len(), 50);
    assert_eq!(keys, expected);
    let v = e.get("accounts/$count").await;
    assert_eq!(v.text.trim(), "50");
}

#[tokio::test]
async fn count_is_capped_at_5000() {
    let e = env(Config {
        seed_rows: 5100,
        ..Default::default()
    })
    .await;
    let v = e
        .get_with(
            "tasks?$select=subject&$count=true",
            &[("Prefer", "odata.maxpagesize=10")],
        )
        .await
        .json();
    assert_eq!(v["@odata.count"], 5000);
    assert_eq!(
        v["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"],
        true
    );
}

#[tokio::test]
async fn paging_uses_maxpagesize_and_opaque_next_links() {
    let e = seeded(95).await;
    let r = e
        .get_with(
            "contacts?$select=lastname",
            &[("Prefer", "odata.maxpagesize=10")],
        )
        .await;
    assert_eq!(
        r.header("preference-applied").as_deref(),
        Some("odata.maxpagesize=10")
    );
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 10);
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}contacts?", e.base)), "{next}");
    assert!(
        next.contains("$skiptoken=%3Ccookie"),
        "an XML paging cookie: {next}"
    );
    assert!(
        next.contains("%253c"),
        "the inner cookie is encoded twice: {next}"
    );
    let (rows, last, pages) = e
        .read_all("contacts?$select=lastname", "odata.maxpagesize=10")
        .await;
    assert_eq!(pages, 10);
    assert!(last.get("@odata.nextLink").is_none());
    let got = ids(&rows, "contactid");
    let expected: Vec<String> = e
        .admin
        .rows("contacts")
        .unwrap()
        .iter()
        .map(|r| r["contactid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, expected, "every row once, ordered by key");
    // Default page size is 5000; larger asks are capped.
    let r = e
        .get_with(
            "contacts?$select=lastname",
            &[("Prefer", "odata.maxpagesize=9000")],
        )
        .await;
    assert_eq!(
        r.header("preference-applied").as_deref(),
        Some("odata.maxpagesize=5000")
    );
}

#[tokio::test]
async fn a_re_encoded_or_decoded_skiptoken_is_refused() {
    let e = seeded(30).await;
    let v = e
        .get_with(
            "accounts?$select=name",
            &[("Prefer", "odata.maxpagesize=5")],
        )
        .await
        .json();
    let next = v["@odata.nextLink"].as_str().unwrap().to_string();
    let (head, token) = next.split_once("$skiptoken=").unwrap();
    // Upper-casing the inner escapes (what a "normalising" client does).
    let upper = format!(
        "{head}$skiptoken={}",
        token.replace("%253c", "%253C").replace("%253e", "%253E")
    );
    let r = e
        .get_with(&upper, &[("Prefer", "odata.maxpagesize=5")])
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error().1.contains("$skiptoken"));
    // Decoding the inner layer once more breaks it too.
    let decoded = format!("{head}$skiptoken={}", token.replace("%25", "%"));
    assert_eq!(
        e.get_with(&decoded, &[("Prefer", "odata.maxpagesize=5")])
            .await
            .status,
        400
    );
    assert_eq!(e.get("accounts?$skiptoken=garbage").await.status, 400);
    // Unchanged, it works.
    assert_eq!(
        e.get_with(&next, &[("Prefer", "odata.maxpagesize=5")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn pages_stay_stable_while_rows_change_underneath() {
    let e = seeded(60).await;
    let all_before: Vec<String> = e
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .map(|r| r["accountid"].as_str().unwrap().to_string())
        .collect();
    let user = e.admin.users()[0].id;
    let mut url = e.url("accounts?$select=name");
    let mut seen = Vec::new();
    let mut deleted = HashSet::new();
    let mut page = 0;
    loop {
        let v = e
            .get_with(&url, &[("Prefer", "odata.maxpagesize=10")])
            .await
            .json();
        seen.extend(ids(v["value"].as_array().unwrap(), "accountid"));
        page += 1;
        // Between pages: insert rows (before and after the cursor) and delete one not yet read.
        for _ in 0..3 {
            e.admin
                .create_row(
                    "accounts",
                    user,
                    serde_json::json!({"name": format!("inserted {page}")}),
                )
                .unwrap();
        }
        if let Some(victim) = all_before
            .iter()
            .rev()
            .find(|id| !seen.contains(id) && !deleted.contains(*id))
        {
            e.admin
                .delete_row("accounts", uuid::Uuid::parse_str(victim).unwrap())
                .unwrap();
            deleted.insert(victim.clone());
        }
        match v.get("@odata.nextLink").and_then(Value::as_str) {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row served twice");
    for id in &all_before {
        assert!(
            seen.contains(id) || deleted.contains(id),
            "row {id} present throughout was lost"
        );
    }
}

#[tokio::test]
async fn single_row_get_and_404() {
    let e = seeded(3).await;
    let row = &e.admin.rows("accounts").unwrap()[1];
    let id = row["accountid"].as_str().unwrap();
    let r = e.get(&format!("accounts({id})?$select=name")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["name"], row["name"]);
    assert_eq!(v["accountid"], id);
    assert_eq!(v["@odata.etag"], row["@odata.etag"]);
    assert!(
        v["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#accounts(name)/$entity")
    );
    let missing = uuid::Uuid::new_v4();
    let r = e.get(&format!("accounts({missing})")).await;
    assert_eq!(r.status, 404);
    let (code, msg) = r.error();
    assert_eq!(code, "0x80040217");
    assert!(msg.contains(&missing.to_string()), "{msg}");
    assert_eq!(e.get("accounts(not-a-guid)").await.status, 400);
}

#[tokio::test]
async fn who_am_i_maps_each_token_to_its_user() {
    let e = env(Config {
        extra_users: vec![("Sam Field".into(), "sam-token".into())],
        ..Default::default()
    })
    .await;
    let v = e.get("WhoAmI").await.json();
    let users = e.admin.users();
    assert_eq!(v["UserId"], users[0].id.to_string());
    assert!(v["BusinessUnitId"].is_string() && v["OrganizationId"].is_string());
    let r = e
        .client
        .get(e.url("WhoAmI"))
        .bearer_auth("sam-token")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let sam = users.iter().find(|u| u.name == "Sam Field").unwrap();
    assert_eq!(v["UserId"], sam.id.to_string());
}

#[tokio::test]
async fn retrieve_total_record_count_takes_logical_names() {
    let e = seeded(12).await;
    let r = e
        .get("RetrieveTotalRecordCount(EntityNames=['account','contact'])")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let c = &v["EntityRecordCountCollection"];
    assert_eq!(c["Count"], 2);
    assert_eq!(c["IsReadOnly"], false);
    assert_eq!(c["Keys"], serde_json::json!(["account", "contact"]));
    assert_eq!(c["Values"], serde_json::json!([12, 12]));
    let r = e
        .get("RetrieveTotalRecordCount(EntityNames=['accounts'])")
        .await;
    assert_eq!(r.status, 400, "entity set names are not logical names");
}

/// Dataverse's query functions on dates, as the offline profile generated
/// from a canvas app writes them (`Today()` → `Today`, `>= Today() - N` →
/// `not OlderThanXDays`): each keeps exactly the rows its UTC day window
/// holds, and a non-date column or an unknown function is a 400.
#[tokio::test]
async fn date_query_functions_keep_the_rows_of_their_window() {
    use reqwest::Method;
    use serde_json::json;

    let e = seeded(60).await;
    // A row created now: today, within the last days, not older.
    let r = e
        .req(
            Method::POST,
            "accounts",
            &[],
            Some(json!({"name": "Made today"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (all, _, _) = e
        .read_all("accounts?$select=name,createdon", "odata.maxpagesize=500")
        .await;
    let now = time::OffsetDateTime::now_utc();
    let midnight = now.date().midnight().assume_utc();
    let created = |r: &Value| {
        time::OffsetDateTime::parse(
            r["createdon"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let names = |rows: &[Value]| {
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| r["accountid"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let expect = |keep: &dyn Fn(time::OffsetDateTime) -> bool| {
        let rows: Vec<Value> = all.iter().filter(|r| keep(created(r))).cloned().collect();
        names(&rows)
    };
    let days = time::Duration::days;
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "Microsoft.Dynamics.CRM.Today(PropertyName='createdon')",
            expect(&|c| c >= midnight && c < midnight + days(1)),
        ),
        (
            "not Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=400)",
            expect(&|c| c >= midnight - days(400)),
        ),
        (
            "Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=400)",
            expect(&|c| c < midnight - days(400)),
        ),
        (
            "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=7)",
            expect(&|c| c >= midnight - days(7) && c <= now),
        ),
    ];
    for (filter, expected) in cases {
        let (rows, _, _) = e
            .read_all(
                &format!("accounts?$select=name,createdon&$filter={filter}"),
                "odata.maxpagesize=500",
            )
            .await;
        assert_eq!(names(&rows), expected, "{filter}");
    }
    let today = e
        .get("accounts?$select=name&$filter=Microsoft.Dynamics.CRM.Today(PropertyName='createdon')")
        .await
        .json();
    assert_eq!(today["value"][0]["name"], "Made today", "{today}");

    for bad in [
        "Microsoft.Dynamics.CRM.Today(PropertyName='name')",
        "Microsoft.Dynamics.CRM.NextMonthOrSo(PropertyName='createdon')",
        "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon')",
    ] {
        let r = e.get(&format!("accounts?$filter={bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn seed_tables_seeds_only_those_and_rows_served_are_counted_per_table() {
    let e = env(Config {
        seed_rows: 7,
        seed_tables: vec!["accounts".into(), "leads".into()],
        ..Default::default()
    })
    .await;
    for (set, n) in [
        ("accounts", 7),
        ("leads", 7),
        ("contacts", 0),
        ("competitors", 0),
    ] {
        assert_eq!(e.admin.rows(set).unwrap().len(), n, "{set}");
    }
    e.admin.reset_stats();
    let (rows, _, _) = e.read_all("accounts?$select=name", "").await;
    assert_eq!(rows.len(), 7);
    let (rows, _, _) = e.read_all("leads?$select=subject&$top=3", "").await;
    assert_eq!(rows.len(), 3);
    let stats = e.admin.stats();
    assert_eq!(stats.rows_served, 10);
    assert_eq!(
        stats.rows_served_by_table.into_iter().collect::<Vec<_>>(),
        [("accounts".to_string(), 7), ("leads".to_string(), 3)]
    );

    let err = match mooring_devserver::start(Config {
        seed_rows: 1,
        seed_tables: vec!["acounts".into()],
        ..Default::default()
    })
    .await
    {
        Err(err) => err,
        Ok(_) => panic!("an unknown entity set to seed was accepted"),
    };
    assert!(err.to_string().contains("acounts"), "{err}");
}
