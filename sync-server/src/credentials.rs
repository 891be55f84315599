//! What a request presents to say who sends it: an `Authorization: Bearer` header (the CLI,
//! scripts) or the web app's session cookie. This module only reads them; [`crate::auth`]
//! decides what they grant, and [`crate::web`] sets the cookie when a browser signs in.

use axum::http::{header, HeaderMap};

/// The cookie that carries a browser's token.
pub(crate) const COOKIE: &str = "tandem_session";

/// The tokens in the request's session cookie, oldest first, and only when the request comes
/// from a page of this origin (or from a client that sends no `Origin`, which no browser omits
/// on a websocket): a cookie must never let another site's page act as the person. A browser
/// holds one token per workspace it joined on this relay (and perhaps a program token), joined
/// by `.`, which no token contains; at most [`MAX_SESSION_TOKENS`] are read.
pub(crate) fn cookie_tokens(headers: &HeaderMap) -> Vec<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same_origin = (|| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let origin = origin.to_str().ok()?;
            let origin_host = origin.split_once("://").map(|(_, h)| h)?;
            Some(origin_host.eq_ignore_ascii_case(host))
        })();
        if same_origin != Some(true) {
            return Vec::new();
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| {
            value
                .split('.')
                .filter(|t| is_token_text(t))
                .take(MAX_SESSION_TOKENS)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The most tokens one browser's session holds: a mentor with a workspace per mentee on one
/// relay fits, and the cookie stays far below the 4 KB browsers keep (a token is 37 characters).
pub(crate) const MAX_SESSION_TOKENS: usize = 32;

/// Whether `text` can be a token: base58 text after `tdm_`, of a sane length. Anything else
/// cannot be one and must never reach a header.
pub(crate) fn is_token_text(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The credentials of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// A request's headers, from (name, value) pairs.
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tdm_h "),
        );
        assert_eq!(bearer(&headers).as_deref(), Some("tdm_h"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn the_session_cookie_is_read_only_from_this_origin() {
        let same = headers(&[
            ("host", "relay.example:8080"),
            ("origin", "https://relay.example:8080"),
            ("cookie", "a=b; tandem_session=tdm_abc; c=d"),
        ]);
        assert_eq!(cookie_tokens(&same), vec!["tdm_abc".to_string()]);
        let other = headers(&[
            ("host", "relay.example:8080"),
            ("origin", "https://evil.example"),
            ("cookie", "tandem_session=tdm_abc"),
        ]);
        assert!(cookie_tokens(&other).is_empty());
        let none = headers(&[("host", "relay.example"), ("cookie", "x=y")]);
        assert!(cookie_tokens(&none).is_empty());
    }

    #[test]
    fn the_session_cookie_holds_several_tokens_and_nothing_else() {
        let several = headers(&[("cookie", "tandem_session=tdm_a.tdm_b..tdm_c")]);
        assert_eq!(cookie_tokens(&several), vec!["tdm_a", "tdm_b", "tdm_c"]);
        let odd = headers(&[("cookie", "tandem_session=tdm_a.<script>.tdm_b")]);
        assert_eq!(cookie_tokens(&odd), vec!["tdm_a", "tdm_b"]);
        let many = (0..100).map(|i| format!("tdm_{i}")).collect::<Vec<_>>();
        let too_many = headers(&[("cookie", &format!("tandem_session={}", many.join(".")))]);
        assert_eq!(cookie_tokens(&too_many).len(), MAX_SESSION_TOKENS);
    }
}
