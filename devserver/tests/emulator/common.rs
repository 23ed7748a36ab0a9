//! Test harness: an emulator on a free port and a real HTTP client.

use std::time::Duration;

use mooring_devserver::{Admin, Config, RunningServer};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Env {
    pub server: RunningServer,
    pub client: reqwest::Client,
    pub base: String,
    pub admin: Admin,
    pub token: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// Asserts a Dataverse error body and returns (code, message).
    pub fn error(&self) -> (String, String) {
        let v = self.json();
        let e = v
            .get("error")
            .unwrap_or_else(|| panic!("no error object: {}", self.text));
        (
            e["code"].as_str().unwrap_or("").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        )
    }
}

pub async fn env(cfg: Config) -> Env {
    let token = cfg.token.clone();
    let server = mooring_devserver::start(cfg).await.expect("start emulator");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = server.base_url();
    let admin = server.admin();
    Env {
        server,
        client,
        base,
        admin,
        token,
    }
}

pub async fn seeded(rows: usize) -> Env {
    env(Config {
        seed_rows: rows,
        ..Default::default()
    })
    .await
}

impl Env {
    pub fn url(&self, rel: &str) -> String {
        if rel.starts_with("http") {
            rel.to_string()
        } else {
            format!("{}{}", self.base, rel)
        }
    }

    pub async fn req(
        &self,
        method: Method,
        rel: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self
            .client
            .request(method, self.url(rel))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0");
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let r = rb.send().await.expect("send");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, rel: &str) -> Resp {
        self.req(Method::GET, rel, &[], None).await
    }

    pub async fn get_with(&self, rel: &str, headers: &[(&str, &str)]) -> Resp {
        self.req(Method::GET, rel, headers, None).await
    }

    /// Follows nextLinks; returns every row and the final page's JSON.
    pub async fn read_all(&self, rel: &str, prefer: &str) -> (Vec<Value>, Value, usize) {
        let mut url = self.url(rel);
        let mut rows = Vec::new();
        let mut pages = 0;
        loop {
            let r = self.get_with(&url, &[("Prefer", prefer)]).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let v = r.json();
            pages += 1;
            rows.extend(v["value"].as_array().expect("value").iter().cloned());
            match v.get("@odata.nextLink").and_then(Value::as_str) {
                Some(n) => url = n.to_string(),
                None => return (rows, v, pages),
            }
        }
    }
}

pub fn ids(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[key].as_str().expect("key").to_string())
        .collect()
}
