//! GET with redirects followed by hand: a cap on hops, only http and https, and credentials
//! (`Authorization`, `Proxy-Authorization`, `Cookie`, a custom `Host`) sent only to the origin
//! they were given for (scheme, host and port), unless the caller trusts every location.

use crate::deadline::Deadline;
use crate::meta::{header, map_ureq, resolve_location};
use crate::{DownloadError, Downloader};
use std::io::{self, Read};
use ureq::http::{Response, Uri};

/// Headers that identify the user to a server and must not follow a redirect elsewhere.
const CREDENTIALS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "host"];

/// A byte range to ask for: from `offset` to the end, if the resource still matches.
#[derive(Clone, Debug)]
pub(crate) struct RangeAsk {
    pub(crate) offset: u64,
    /// For If-Range: a strong ETag or a Last-Modified date.
    pub(crate) validator: Option<String>,
}

/// The final URL and the response found there.
pub(crate) struct Answer {
    pub(crate) url: String,
    pub(crate) response: Response<ureq::Body>,
}

/// Scheme, host and port, with the default port filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub(crate) fn of(url: &str) -> Option<Origin> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Origin {
            host: uri.host()?.trim_end_matches('.').to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

/// Whether header `name` carries credentials.
pub(crate) fn is_credential(name: &str) -> bool {
    CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c))
}

impl Downloader {
    /// GET `url`, following redirects.
    pub(crate) fn get(
        &self,
        agent: &ureq::Agent,
        url: &str,
        range: Option<&RangeAsk>,
        deadline: &Deadline,
    ) -> Result<Answer, DownloadError> {
        let first = Origin::of(url);
        let mut current = url.to_string();
        let mut hops = 0;
        loop {
            let trusted =
                self.location_trusted || (first.is_some() && Origin::of(&current) == first);
            let mut req = agent.get(&current);
            for (k, v) in &self.headers {
                if trusted || !is_credential(k) {
                    req = req.header(k.as_str(), v.as_str());
                }
            }
            if let Some(r) = range {
                req = req.header("Range", format!("bytes={}-", r.offset));
                if let Some(v) = &r.validator {
                    req = req.header("If-Range", v.as_str());
                }
            }
            let left = deadline.remaining(&current)?;
            let req = req.config().timeout_global(left).build();
            let response = req
                .call()
                .map_err(|e| deadline.explain(map_ureq(&current, e, None)))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(Answer {
                    url: current,
                    response,
                });
            }
            let Some(location) = header(response.headers(), "location").map(str::to_string) else {
                return Err(DownloadError::InvalidResponse {
                    url: current,
                    reason: format!("{status} without a Location header"),
                });
            };
            // Read the short redirect body so the connection can be reused cleanly.
            let mut body = response.into_body();
            let _ = io::copy(&mut body.as_reader().take(64 * 1024), &mut io::sink());
            let next = resolve_location(&current, &location).ok_or_else(|| {
                DownloadError::UnsupportedRedirect {
                    url: current.clone(),
                    location: location.clone(),
                }
            })?;
            hops += 1;
            if hops > self.max_redirects {
                return Err(DownloadError::TooManyRedirects {
                    url: current,
                    limit: self.max_redirects,
                });
            }
            current = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let o = |u: &str| Origin::of(u).unwrap();
        assert_eq!(o("http://Example.COM/a"), o("http://example.com:80/b"));
        assert_eq!(o("https://h/a"), o("https://h:443/"));
        assert_ne!(o("http://h/a"), o("https://h/a"));
        assert_ne!(o("http://h:8080/"), o("http://h:8081/"));
        assert_ne!(o("http://127.0.0.1/"), o("http://localhost/"));
        assert!(is_credential("AUTHORIZATION") && is_credential("Cookie"));
        assert!(!is_credential("Accept"));
    }
}
