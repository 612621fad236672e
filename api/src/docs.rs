//! The pages a person reads: GraphiQL at `GET /graphql` and the REST API's
//! Swagger UI at `GET /api/v1/docs`, with every file they load served from
//! `/assets/`, embedded in the binary. Nothing comes from another host (an
//! agency intranet has no internet), and the pages' Content-Security-Policy
//! holds the browser to that. The vendored files come from the npm registry
//! through `scripts/vendor-web-assets.sh`, pinned by version and checksum
//! (api/assets/SHA256SUMS); the pages and their start scripts are ours (api/web/).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use actix_web::{HttpResponse, web};

use crate::error::{ErrorCode, Problem};
use crate::methods;

/// Only this server: scripts and styles from `/assets/`, API calls and the
/// subscription WebSocket to itself. Inline styles are needed by both UIs.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// A file under `/assets/`: its name, media type and content.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    content: &'static [u8],
}

macro_rules! asset {
    ($dir:literal, $name:literal, $media_type:literal) => {
        Asset {
            name: $name,
            media_type: $media_type,
            content: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $name)),
        }
    };
}

const ASSETS: [Asset; 9] = [
    asset!(
        "assets",
        "react.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "assets",
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "assets",
        "graphiql.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("assets", "graphiql.min.css", "text/css; charset=utf-8"),
    asset!(
        "assets",
        "graphql-ws.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "assets",
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("assets", "swagger-ui.css", "text/css; charset=utf-8"),
    asset!("web", "graphiql-start.js", "text/javascript; charset=utf-8"),
    asset!("web", "api-docs-start.js", "text/javascript; charset=utf-8"),
];

const GRAPHIQL_PAGE: &str = include_str!("../web/graphiql.html");
const API_DOCS_PAGE: &str = include_str!("../web/api-docs.html");

/// Adds `GET /assets/{name}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::resource("/assets/{name}", "GET, HEAD").route(methods::get().to(asset)));
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|asset| asset.name == name.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.media_type)
            // Changed only with a new release; an hour keeps upgrades visible.
            .insert_header((CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.content),
        None => Problem::new(ErrorCode::NotFound, "no such asset").response(),
    }
}

fn page(html: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(html)
}

/// The GraphiQL page; static, it never executes an operation.
pub async fn graphiql() -> HttpResponse {
    page(GRAPHIQL_PAGE)
}

/// The REST API's Swagger UI; static, the document is fetched with a token.
pub async fn api_docs() -> HttpResponse {
    page(API_DOCS_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The embedded vendored files are exactly those the script recorded.
    #[test]
    fn vendored_assets_match_their_recorded_checksums() {
        let sums = include_str!("../assets/SHA256SUMS");
        let mut checked = 0;
        for line in sums.lines() {
            let mut fields = line.split_whitespace();
            let (Some(sum), Some(name)) = (fields.next(), fields.next()) else {
                panic!("malformed line in SHA256SUMS: {line}");
            };
            let asset = ASSETS
                .iter()
                .find(|asset| asset.name == name)
                .unwrap_or_else(|| panic!("{name} is recorded but not served"));
            assert_eq!(hex::encode(Sha256::digest(asset.content)), sum, "{name}");
            checked += 1;
        }
        assert_eq!(checked, 7, "every vendored file is recorded");
    }

    /// The pages load nothing but what `/assets/` serves.
    #[test]
    fn pages_load_only_served_assets() {
        for html in [GRAPHIQL_PAGE, API_DOCS_PAGE] {
            assert!(
                !html.contains("http://")
                    && !html.contains("https://")
                    && !html.contains("//unpkg")
            );
            for reference in html
                .split(['"', '\''])
                .filter(|part| part.starts_with("/assets/"))
            {
                let name = &reference["/assets/".len()..];
                assert!(
                    ASSETS.iter().any(|asset| asset.name == name),
                    "{name} is not served"
                );
            }
        }
    }
}
