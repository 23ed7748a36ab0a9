//! Issue 8, at rest and per user: an encrypted mirror holds none of the
//! synced values in clear (checked against a plain mirror that does), a
//! wrong or missing key is a typed error that leaves the file untouched,
//! one database per (environment, user), a mirror never synced as another
//! user, sign-out that refuses to drop pending changes and then wipes every
//! file, and HTTPS only.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{TOKEN, env, env_with};
use mooring_core::remote::TokenProvider;
use mooring_core::{
    Error, Icon, KeyProblem, Mooring, MooringConfig, Profile, ProfileSource, Query, Remote,
    RemoteConfig, ScheduleConfig, Secret, StaticToken, Store, database_path,
};
use mooring_devserver::Config;
use serde_json::{Map, Value as J};

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1","address1_city"],"rows":"all"},
  {"name":"contacts","columns":["lastname","emailaddress1","parentcustomerid"],"rows":"all"}]}"#;

const KEY: &str = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
/// A value only the local write below puts in the mirror.
const MARKER: &str = "Zyzzyva Marker 8317 Quokka";

fn token(t: &str) -> Arc<dyn TokenProvider> {
    Arc::new(StaticToken(Secret::new(t)))
}

fn tune(mut c: MooringConfig) -> MooringConfig {
    c.remote.backoff_base = Duration::from_millis(5);
    c.remote.backoff_cap = Duration::from_millis(50);
    c.remote.max_retries = 1;
    c.remote.connect_timeout = Duration::from_secs(2);
    c.remote.request_timeout = Duration::from_secs(20);
    c.schedule = ScheduleConfig {
        probe_timeout: Duration::from_secs(2),
        probe_interval: Duration::from_secs(30),
        upload_debounce: Duration::from_millis(100),
        retry_base: Duration::from_millis(200),
        retry_cap: Duration::from_secs(1),
        delta_interval: None,
    };
    c
}

fn config(url: &str, db: PathBuf, tokens: Arc<dyn TokenProvider>) -> MooringConfig {
    let profile = Profile::from_json(PROFILE).expect("profile");
    tune(MooringConfig::new(url, tokens, db, profile))
}

fn profile_source() -> ProfileSource {
    ProfileSource::Profile(Profile::from_json(PROFILE).expect("profile"))
}

fn obj(v: J) -> Map<String, J> {
    match v {
        J::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// The bytes of the database and of every side file SQLite keeps.
fn raw_bytes(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(&p) {
            all.extend_from_slice(&bytes);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    hay.windows(n.len()).any(|w| w == n)
}

/// Distinctive values of the server's rows: they must reach the mirror.
fn needles(env: &common::Env) -> Vec<String> {
    let mut out = vec![MARKER.to_string()];
    for (table, column) in [
        ("accounts", "name"),
        ("accounts", "address1_city"),
        ("contacts", "emailaddress1"),
    ] {
        let mut vals: Vec<String> = env
            .admin
            .rows(table)
            .expect("admin rows")
            .iter()
            .filter_map(|r| r.get(column).and_then(|v| v.as_str()).map(String::from))
            .filter(|s| s.len() >= 8)
            .collect();
        vals.sort();
        vals.dedup();
        out.extend(vals.into_iter().take(3));
    }
    assert!(
        out.len() >= 7,
        "the emulator seeds distinctive values: {out:?}"
    );
    out
}

/// Syncs a mirror (encrypted or not), writes the marker row, uploads it,
/// closes.
async fn sync_mirror(env: &common::Env, db: PathBuf, key: Option<&str>) {
    let mut c = config(&env.server.root_url(), db, token(TOKEN));
    c.encryption_key = key.map(Secret::new);
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("first sync");
    app.create("accounts", obj(serde_json::json!({"name": MARKER})))
        .await
        .expect("local write");
    app.upload_now().await.expect("upload");
    assert_eq!(app.pending_count().await.expect("pending"), 0);
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_mirror_holds_no_synced_value_in_clear() {
    let env = env(300).await;
    let needles = needles(&env);
    let plain = env.dir.join("plain.db");
    let secret = env.dir.join("secret.db");
    sync_mirror(&env, plain.clone(), None).await;
    sync_mirror(&env, secret.clone(), Some(KEY)).await;

    // The search works: the plain mirror shows every value in clear.
    let plain_bytes = raw_bytes(&plain);
    for n in &needles {
        assert!(contains(&plain_bytes, n), "plain mirror lacks {n:?}");
    }
    // The encrypted one shows none, nor SQLite's header.
    let secret_bytes = raw_bytes(&secret);
    assert!(
        secret_bytes.len() > 100_000,
        "the encrypted mirror has data"
    );
    for n in &needles {
        assert!(!contains(&secret_bytes, n), "{n:?} readable in clear");
    }
    assert!(!contains(&secret_bytes, "SQLite format 3"));
    assert!(!contains(&secret_bytes, "mooring_meta"));

    // The right key reads every row back.
    let store = Store::open_with_key(&secret, Some(Secret::new(KEY))).expect("right key");
    let server_accounts = env.admin.rows("accounts").expect("rows").len() as u64;
    assert_eq!(store.count("accounts").expect("count"), server_accounts);
    let marker = Query::table("accounts").filter(mooring_core::Filter::Eq(
        "name".into(),
        mooring_core::Value::Text(MARKER.into()),
    ));
    // Both mirrors uploaded one marker row; the second synced both.
    assert_eq!(store.query(&marker).expect("query").len(), 2);
    drop(store);
    std::thread::sleep(Duration::from_millis(200));
}

/// Every file of the mirror, byte for byte.
fn snapshot(db: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            std::fs::read(&p).ok().map(|b| (s.to_string(), b))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_key_is_a_typed_error_and_touches_nothing() {
    let env = env(50).await;
    let secret = env.dir.join("secret.db");
    let plain = env.dir.join("plain.db");
    sync_mirror(&env, secret.clone(), Some(KEY)).await;
    sync_mirror(&env, plain.clone(), None).await;
    // Let the last connections go (final checkpoint).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = snapshot(&secret);
    let plain_before = snapshot(&plain);

    let wrong = Store::open_with_key(&secret, Some(Secret::new("not the key")));
    assert!(
        matches!(wrong, Err(Error::WrongKey(KeyProblem::Wrong))),
        "wrong key: {:?}",
        wrong.err()
    );
    let missing = Store::open(&secret);
    assert!(
        matches!(missing, Err(Error::WrongKey(KeyProblem::Missing))),
        "no key: {:?}",
        missing.err()
    );
    let not_encrypted = Store::open_with_key(&plain, Some(Secret::new(KEY)));
    assert!(
        matches!(
            not_encrypted,
            Err(Error::WrongKey(KeyProblem::NotEncrypted))
        ),
        "plain file with a key: {:?}",
        not_encrypted.err()
    );

    // Through the facade too: an error at open, never an empty database.
    let mut c = config(&env.server.root_url(), secret.clone(), token(TOKEN));
    c.encryption_key = Some(Secret::new("not the key"));
    let opened = Mooring::open(c).await;
    let err = opened.err().expect("refused");
    assert!(matches!(err, Error::WrongKey(KeyProblem::Wrong)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("key is wrong"), "{text}");
    assert!(!text.contains("not the key") && !text.contains(KEY));

    assert!(snapshot(&secret) == before, "the encrypted file changed");
    assert!(snapshot(&plain) == plain_before, "the plain file changed");

    // And the right key still opens it.
    let store = Store::open_with_key(&secret, Some(Secret::new(KEY))).expect("right key");
    assert!(store.count("accounts").expect("count") >= 50);
}

#[test]
fn database_path_is_one_file_per_environment_and_user() {
    let dir = Path::new("/data/app");
    let a = database_path(dir, "https://org.crm.dynamics.com", "alice@contoso.com");
    // The same environment and user, spelled differently: the same file.
    for (url, account) in [
        ("https://ORG.crm.Dynamics.com/", "alice@contoso.com"),
        ("HTTPS://org.crm.dynamics.com:443", " Alice@Contoso.com "),
    ] {
        assert_eq!(database_path(dir, url, account), a, "{url} {account}");
    }
    let others = [
        database_path(dir, "https://org.crm.dynamics.com", "bob@contoso.com"),
        database_path(
            dir,
            "https://org-test.crm.dynamics.com",
            "alice@contoso.com",
        ),
        database_path(dir, "https://org.crm4.dynamics.com", "alice@contoso.com"),
    ];
    for o in &others {
        assert_ne!(o, &a);
    }
    let name = a.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        name.starts_with("mooring-") && name.ends_with(".db"),
        "{name}"
    );
    assert_eq!(name.len(), "mooring-".len() + 32 + ".db".len());
    assert!(!name.contains("alice") && !name.contains("org"));
    assert_eq!(a.parent(), Some(dir));
}

fn mirror_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.starts_with("mooring-"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_two_files_and_a_mirror_is_never_synced_as_another_user() {
    let env = env_with(Config {
        seed_rows: 40,
        token: TOKEN.into(),
        extra_users: vec![("Bob Second".into(), "token-bob".into())],
        ..Config::default()
    })
    .await;
    let url = env.server.root_url();
    let for_account = |tokens, account: &str| {
        let mut c = tune(MooringConfig::for_account(
            url.clone(),
            tokens,
            &env.dir,
            account,
            profile_source(),
        ));
        c.encryption_key = Some(Secret::new(KEY));
        c
    };

    let alice = Mooring::open(for_account(token(TOKEN), "alice@contoso.com"))
        .await
        .expect("open alice");
    alice.sync_now().await.expect("alice syncs");
    let alice_path = alice.store().path().to_path_buf();
    let alice_user = alice.store().user_id().expect("meta");
    assert_eq!(alice_user.as_deref(), Some(env.user_id(0).as_str()));
    alice.close().await;
    drop(alice);

    // Bob on the same phone gets his own file, which shows nothing of
    // Alice's until he syncs himself.
    let mut c = for_account(token("token-bob"), "bob@contoso.com");
    c.host_online = false;
    let bob = Mooring::open(c).await.expect("open bob");
    assert_ne!(bob.store().path(), alice_path.as_path());
    assert!(bob.store().tables().expect("tables").is_empty());
    assert!(
        bob.get("accounts", "00000000-0000-0000-0000-000000000001")
            .await
            .is_err()
    );
    bob.close().await;
    drop(bob);
    assert_eq!(
        mirror_files(&env.dir)
            .iter()
            .filter(|n| n.ends_with(".db"))
            .count(),
        2
    );

    // Alice's file opened with Bob's token (the host mixed them up): the
    // server answers as Bob, so nothing is synced into Alice's mirror.
    let first = env.admin.rows("accounts").expect("rows")[0].clone();
    let id = first["accountid"].as_str().expect("id").to_string();
    env.admin
        .update_row(
            "accounts",
            id.parse().expect("uuid"),
            env.user_id(0).parse().expect("uuid"),
            serde_json::json!({"name": "Changed on the server"}),
        )
        .expect("server edit");
    let mut c = config(&url, alice_path.clone(), token("token-bob"));
    c.encryption_key = Some(Secret::new(KEY));
    let mixed = Mooring::open(c).await.expect("open");
    let err = mixed.sync_now().await.expect_err("refused");
    assert!(matches!(err, Error::WrongUser { .. }), "{err:?}");
    let s = mixed.status();
    assert_eq!(s.icon, Icon::Error);
    assert_eq!(s.message.key, "status.error.wrong_user");
    let row = mixed.get("accounts", &id).await.expect("get").expect("row");
    assert_ne!(row.get("name"), Some(&J::from("Changed on the server")));
    assert_eq!(mixed.store().user_id().expect("meta"), alice_user);
    mixed.close().await;
    drop(mixed);

    // Alice again: her mirror syncs (and gets the edit).
    let alice = Mooring::open(for_account(token(TOKEN), "alice@contoso.com"))
        .await
        .expect("open alice again");
    alice.sync_now().await.expect("alice syncs again");
    let row = alice.get("accounts", &id).await.expect("get").expect("row");
    assert_eq!(row.get("name"), Some(&J::from("Changed on the server")));
    assert_eq!(alice.status().icon, Icon::Connected);
    alice.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_says_what_would_be_lost_then_wipes_every_file() {
    let env = env(30).await;
    let mut c = tune(MooringConfig::for_account(
        env.server.root_url(),
        token(TOKEN),
        &env.dir,
        "alice@contoso.com",
        profile_source(),
    ));
    c.encryption_key = Some(Secret::new(KEY));
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("sync");
    // Offline: the writes stay pending.
    app.set_host_network(false, false);
    for i in 0..3 {
        app.create(
            "accounts",
            obj(serde_json::json!({"name": format!("Unsent {i}")})),
        )
        .await
        .expect("write");
    }
    assert!(!mirror_files(&env.dir).is_empty());
    let files_before = mirror_files(&env.dir);

    let refused = app.sign_out(false).await;
    assert!(
        matches!(refused, Err(Error::PendingChangesWouldBeLost { count: 3 })),
        "{refused:?}"
    );
    assert_eq!(mirror_files(&env.dir), files_before, "nothing deleted");
    assert_eq!(app.pending_count().await.expect("still usable"), 3);

    app.sign_out(true).await.expect("sign out, discarding");
    assert_eq!(
        mirror_files(&env.dir),
        Vec::<String>::new(),
        "every file gone"
    );
    assert!(matches!(
        app.query(Query::table("accounts")).await,
        Err(Error::Closed)
    ));
    // Nothing comes back later (a late checkpoint or reader).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mirror_files(&env.dir), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_only_except_loopback_or_the_development_flag() {
    let tokens = token(TOKEN);
    for url in [
        "http://org.crm.dynamics.com",
        "http://192.0.2.10:8080",
        "http://localhost.example.com",
    ] {
        let r = Remote::new(RemoteConfig::new(url), tokens.clone());
        assert!(matches!(r, Err(Error::InsecureUrl(_))), "{url}");
        // The facade refuses at open, before any request.
        let dir = common::temp_dir();
        let opened = Mooring::open(config(url, dir.join("m.db"), tokens.clone())).await;
        assert!(matches!(opened, Err(Error::InsecureUrl(_))), "{url}");
        // The explicit development flag allows it.
        let mut cfg = RemoteConfig::new(url);
        cfg.allow_insecure_http = true;
        assert!(
            Remote::new(cfg, tokens.clone()).is_ok(),
            "{url} with the flag"
        );
    }
    for url in [
        "https://org.crm.dynamics.com",
        "http://127.0.0.1:5555",
        "http://127.8.9.10",
        "http://[::1]:5555",
        "http://localhost:5555",
    ] {
        assert!(
            Remote::new(RemoteConfig::new(url), tokens.clone()).is_ok(),
            "{url}"
        );
    }
    // A link to another origin (or a downgrade to http) never gets the token.
    let remote = Remote::new(
        RemoteConfig::new("https://org.crm.dynamics.com"),
        tokens.clone(),
    )
    .expect("remote");
    for (link, origin) in [
        (
            "https://evil.example.com/api/data/v9.2/accounts",
            "https://evil.example.com",
        ),
        (
            "http://org.crm.dynamics.com/api/data/v9.2/accounts",
            "http://org.crm.dynamics.com",
        ),
        (
            "https://org.crm.dynamics.com:8443/api/data/v9.2/accounts",
            "https://org.crm.dynamics.com:8443",
        ),
    ] {
        let r = remote.get(link, None, "accounts").await;
        // The message names the other origin whole, port included: a link
        // that differs only by its port must say so.
        assert!(
            matches!(&r, Err(Error::InsecureUrl(m)) if m.contains(&format!("({origin})"))),
            "{link}: {:?}",
            r.err()
        );
    }
}
