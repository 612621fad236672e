//! Which methods a path answers. A GET route answers HEAD as GET without a
//! body (the HTTP layer drops it); a known path asked with a method it does
//! not serve answers 405 with `Allow`, an unknown path 404.

use actix_web::{HttpResponse, Resource, Route, guard, web};

use crate::error::{ErrorCode, Problem};

/// A route for GET and HEAD.
pub fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A resource whose other methods are answered 405 with `Allow: allow`
/// (the methods its routes serve, e.g. "GET, HEAD").
pub fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move { not_allowed(allow) }))
}

fn not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = Problem::new(
        ErrorCode::MethodNotAllowed,
        format!("this path answers {allow} only"),
    )
    .response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}
