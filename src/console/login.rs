//! The console behind the API's token (`[server] token_env`).
//!
//! A request to a console page passes with `Authorization: Bearer <token>`
//! (as `/api/` asks) or with the cookie the login form sets; anything else
//! is sent to the form (`/console/login`). The cookie holds the token in hex
//! (a token may hold characters a cookie may not), `HttpOnly` (no script
//! reads it) and `SameSite=Strict` (no other site's page sends it). Tokens
//! are compared in constant time, as the API does.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use newswire_core::config::Secret;

use super::layout;

/// The cookie's name.
pub const COOKIE: &str = "newswire_console";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the request carries the token, as a bearer token or the cookie.
fn carries(headers: &HeaderMap, token: &Secret) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| crate::api::same(given.as_bytes(), token.expose().as_bytes()));
    let want = hex(token.expose().as_bytes());
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && crate::api::same(value.as_bytes(), want.as_bytes()));
    bearer || cookie
}

/// A path on this server to return to: absolute, not `//host`.
fn local(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

/// Middleware: the page, or the login form.
pub(super) async fn require(State(token): State<Arc<Secret>>, request: Request, next: Next) -> Response {
    if carries(request.headers(), &token) {
        return next.run(request).await;
    }
    let back = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", back).finish();
    Redirect::to(&format!("/console/login?{query}")).into_response()
}

fn next_of(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "next")
        .and_then(|(_, v)| local(&v).map(str::to_string))
        .unwrap_or_else(|| "/".into())
}

fn page(next: &str, wrong: bool) -> Response {
    let body = html! {
        h1 { "Sign in" }
        p { "This console needs the token of the server's read API (" code { "[server] token_env" } ")." }
        @if wrong { p.error #login-error { "That is not the token." } }
        form.login method="post" action="/console/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "Token" }
            input #token type="password" name="token" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
    };
    let status = if wrong { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    (status, super::page(layout("Sign in", "", body))).into_response()
}

pub(super) async fn form(State(token): State<Option<Arc<Secret>>>, RawQuery(raw): RawQuery) -> Response {
    let next = next_of(raw.as_deref().unwrap_or(""));
    if token.is_none() {
        return Redirect::to(&next).into_response();
    }
    page(&next, false)
}

pub(super) async fn submit(State(token): State<Option<Arc<Secret>>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let next = next_of(&text);
    let Some(token) = token else { return Redirect::to(&next).into_response() };
    let given = url::form_urlencoded::parse(text.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned());
    if !given.is_some_and(|g| crate::api::same(g.as_bytes(), token.expose().as_bytes())) {
        return page(&next, true);
    }
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", hex(token.expose().as_bytes()));
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_token_or_the_cookie_passes_and_nothing_else() {
        let token = Secret("s3cret; x".into());
        let with = |name: header::HeaderName, value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_str(value).expect("header"));
            carries(&headers, &token)
        };
        assert!(with(header::AUTHORIZATION, "Bearer s3cret; x"));
        assert!(with(header::COOKIE, &format!("a=b; {COOKIE}={}", hex(b"s3cret; x"))));
        assert!(!with(header::AUTHORIZATION, "Bearer s3cret"));
        assert!(!with(header::COOKIE, &format!("{COOKIE}={}", hex(b"s3cret"))));
        assert!(!carries(&HeaderMap::new(), &token));
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(next_of("next=%2Fconsole%2Ffeeds%3Fq%3Da"), "/console/feeds?q=a");
        for bad in ["next=https%3A%2F%2Fevil.example", "next=%2F%2Fevil.example", "next=%2F%5Cevil", ""] {
            assert_eq!(next_of(bad), "/", "{bad}");
        }
    }
}
