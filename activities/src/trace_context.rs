//! W3C trace context on outbound HTTP: the activity's span (the Temporal SDK's
//! `RunActivity`, current while the activity runs) travels to the service in `traceparent`,
//! so the service's request span joins the order's trace.

use opentelemetry::{Context, global, propagation::Injector};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// The headers that carry the current OpenTelemetry context (none when tracing is off).
pub fn current_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&Context::current(), &mut HeaderInjector(&mut headers))
    });
    headers
}
