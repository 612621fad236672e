//! A real browser (headless Chromium) against the real process, with no
//! network beyond loopback (every host name fails to resolve): GraphiQL and
//! the REST API docs render from the service's own assets and call the API
//! with a token, and a page on an allowed origin may call `/graphql` while
//! a page on another origin is refused by the browser.
//!
//! Chromium is the Debian package `chromium` (`.ci/run` installs it). Where
//! it is missing the tests fail under CI=true or CELLREG_REQUIRE_BROWSER=1,
//! and say so loudly otherwise.

use std::path::PathBuf;
use std::process::Command;

use api::auth::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestDatabase, token_for};
use crate::process::ServerProcess;

/// The Chromium binary, or why there is none.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["chromium", "chromium-browser"].map(PathBuf::from));
    candidates.into_iter().find(|candidate| {
        Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

fn chromium_required() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        let required = std::env::var("CI").is_ok_and(|v| v == "true")
            || std::env::var("CELLREG_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "chromium is not installed (apt-get install -y chromium), and CI=true or CELLREG_REQUIRE_BROWSER=1 requires it"
        );
        eprintln!(
            "NOT RUN: chromium is not installed (apt-get install -y chromium); this browser test checked nothing"
        );
    }
    found
}

/// The page's DOM once its scripts have run, as headless Chromium sees it
/// with every host name unresolvable (only loopback addresses reach anything).
async fn rendered(chromium: PathBuf, url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = std::env::temp_dir().join(format!(
            "cellreg-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let output = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=15000",
                "--timeout=60000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("run chromium");
        let _ = std::fs::remove_dir_all(&profile);
        let dom = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            !dom.is_empty(),
            "chromium rendered nothing for {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        dom
    })
    .await
    .expect("chromium task")
}

/// Whether the process logged an answered request (`request finished`) of
/// this route, method and status.
fn answered(server: &ServerProcess, route: &str, method: &str, status: u16) -> bool {
    server.logs().iter().any(|line| {
        line.contains("request finished")
            && line.contains(&format!("\"route\":\"{route}\""))
            && line.contains(&format!("\"method\":\"{method}\""))
            && line.contains(&format!("\"status\":{status}"))
    })
}

on_both_backends! {
    async fn graphiql_and_the_api_docs_render_offline(database: TestDatabase) {
        let Some(chromium) = chromium_required() else { return };
        let server = ServerProcess::serve(&database, &[]);
        let token = token_for(Role::Admin, None);

        let graphiql = rendered(chromium.clone(), server.url(&format!("/graphql#token={token}"))).await;
        assert!(graphiql.contains("graphiql-container"), "GraphiQL rendered:\n{graphiql}");
        assert!(!graphiql.contains("Loading GraphiQL"), "GraphiQL replaced the placeholder");
        // GraphiQL fetched the schema with the token from the page's address.
        assert!(answered(&server, "/graphql", "POST", 200), "GraphiQL's introspection was answered");

        // The document is public: the page shows it before any token is given.
        let anonymous = rendered(chromium.clone(), server.url("/api/v1/docs")).await;
        assert!(anonymous.contains("/api/v1/transfer-events"), "the operations are listed without a token:\n{anonymous}");

        let docs = rendered(chromium, server.url(&format!("/api/v1/docs#token={token}"))).await;
        assert!(docs.contains("swagger-ui"), "Swagger UI rendered:\n{docs}");
        assert!(docs.contains("cellreg REST API"), "the document's title is shown:\n{docs}");
        assert!(docs.contains("/api/v1/transfer-events"), "the operations are listed:\n{docs}");
        assert!(answered(&server, "/api/v1/openapi.json", "GET", 200), "the document was fetched (it needs no token)");
    }
}

/// Serves one HTML page to every request on a loopback port of its own
/// (so of its own origin); returns that origin.
async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    origin
}

/// A third-party frontend's page: calls `/graphql` with a bearer token and
/// shows what it got.
fn frontend_page(api: &str, token: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="result">pending</pre><script>
fetch("{api}/graphql", {{ method: "POST",
  headers: {{ "Authorization": "Bearer {token}", "Content-Type": "application/json", "X-Request-Id": "frontend-1" }},
  body: JSON.stringify({{ query: "{{ me {{ role }} }}" }}) }})
  .then(function (r) {{ return r.text(); }})
  .then(function (t) {{ document.getElementById("result").textContent = "answered " + t; }})
  .catch(function (e) {{ document.getElementById("result").textContent = "refused " + e; }});
</script></body></html>"#
    )
}

on_both_backends! {
    async fn a_page_on_an_allowed_origin_calls_graphql_and_others_are_refused(database: TestDatabase) {
        let Some(chromium) = chromium_required() else { return };
        let token = token_for(Role::Admin, None);
        // The pages need the API's address, and the API their origins: the
        // API's port is taken first, then both pages are served.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let api = format!("http://127.0.0.1:{port}");
        let allowed = serve_page(frontend_page(&api, &token)).await;
        let other = serve_page(frontend_page(&api, &token)).await;
        let bind = format!("127.0.0.1:{port}");
        let _server = ServerProcess::serve(
            &database,
            &[("CELLREG_BIND", bind.as_str()), ("CELLREG_CORS_ALLOWED_ORIGINS", allowed.as_str())],
        );

        let from_allowed = rendered(chromium.clone(), format!("{allowed}/")).await;
        assert!(from_allowed.contains(r#"answered {"data":{"me":{"role":"ADMIN"}}}"#), "{from_allowed}");
        let from_other = rendered(chromium, format!("{other}/")).await;
        assert!(from_other.contains("refused TypeError"), "the browser refused the other origin:\n{from_other}");
    }
}
