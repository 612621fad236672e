//! CORS for browser frontends: an allowed origin's preflight and call are
//! answered with its CORS headers; another origin, or any origin when none
//! is configured, gets none (the browser then keeps the answer from the page).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Fixture, TestApp, TestDatabase};

const ALLOWED: &str = "https://frontend.example.org";
const OTHER: &str = "https://elsewhere.example.org";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client()
        .request(Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-request-id",
        )
        .send()
        .await
        .expect("preflight")
}

async fn call(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client()
        .post(app.url("/graphql"))
        .header("origin", origin)
        .bearer_auth(app.admin_token())
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .expect("call")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("text"))
}

on_both_backends! {
    async fn an_allowed_origin_may_call_graphql_and_others_may_not(database: TestDatabase) {
        let mut config = database.config();
        config.cors_allowed_origins = vec![ALLOWED.to_owned(), "http://127.0.0.1:5173".to_owned()];
        let app = TestApp::spawn(config).await;

        let allowed = preflight(&app, ALLOWED).await;
        assert!(allowed.status().is_success(), "{}", allowed.status());
        assert_eq!(header(&allowed, "access-control-allow-origin"), Some(ALLOWED));
        let methods = header(&allowed, "access-control-allow-methods").expect("methods").to_owned();
        assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
        let headers = header(&allowed, "access-control-allow-headers").expect("headers").to_lowercase();
        for name in ["authorization", "content-type", "x-request-id"] {
            assert!(headers.contains(name), "{headers}");
        }
        assert_eq!(header(&allowed, "access-control-max-age"), Some("3600"), "preflight cached");
        assert_eq!(header(&allowed, "access-control-allow-credentials"), None, "no credentials mode");

        let answered = call(&app, ALLOWED).await;
        assert_eq!(answered.status(), 200);
        assert_eq!(header(&answered, "access-control-allow-origin"), Some(ALLOWED));
        let body: serde_json::Value = answered.json().await.expect("JSON");
        assert_eq!(body["data"]["me"]["role"], "ADMIN", "{body}");

        let refused = preflight(&app, OTHER).await;
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
        let unread = call(&app, OTHER).await;
        assert_eq!(header(&unread, "access-control-allow-origin"), None);
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn without_configured_origins_no_page_elsewhere_may_read_answers(app: TestApp) {
        let answered = call(&app, ALLOWED).await;
        assert_eq!(answered.status(), 200, "a non-browser client is served as before");
        assert_eq!(header(&answered, "access-control-allow-origin"), None);
        let refused = preflight(&app, ALLOWED).await;
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
    }
}
