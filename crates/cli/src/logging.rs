//! The JSON log format (`--log-format json`): one flat JSON object per line, for log
//! pipelines, with the request id as a top-level field. Only formatting lives here: what is
//! logged, and that no secret ever is, is the server's business.
//!
//! A line is
//!
//! ```json
//! {"timestamp":"2025-01-02T03:04:05.678901Z","level":"DEBUG","target":"twofold_http::edge",
//!  "request_id":"0194…","message":"answered","method":"POST","route":"/api/v1/auth/login",
//!  "status":200,"latency_ms":41}
//! ```
//!
//! `timestamp` (RFC 3339, UTC), `level` and `target` come first; then the fields of the
//! spans the line was logged in, outermost first (the `request` span's `request_id` on
//! every line a request causes, including the mail it queued when that mail is delivered);
//! then `message`, if any, and the line's own fields. A name appears once: a line's own
//! field never replaces `timestamp`, `level`, `target` or a span's field such as
//! `request_id`. A line without `request_id` is not about one request (start, shutdown,
//! housekeeping, the database's background threads). Events that came through the `log`
//! crate name their real target, without its `log.*` bookkeeping fields.

use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter; span fields must be recorded with
/// `tracing_subscriber::fmt::format::JsonFields` so that they can be read back here.
pub struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut own = Fields::default();
        event.record(&mut own);

        let mut line = Line::default();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.put("timestamp", Value::String(timestamp));
        line.put("level", Value::String(meta.level().as_str().to_owned()));
        let target = own
            .log_target
            .take()
            .unwrap_or_else(|| meta.target().to_owned());
        line.put("target", Value::String(target));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    for (name, value) in fields {
                        line.put(&name, value);
                    }
                }
            }
        }
        if let Some(message) = own.message.take() {
            line.put("message", message);
        }
        for (name, value) in own.fields {
            line.put(&name, value);
        }
        line.write(&mut writer)
    }
}

/// The object being built, in order: each name once, the first value given for it kept
/// (the fields are added most important first).
#[derive(Default)]
struct Line(Vec<(String, Value)>);

impl Line {
    fn put(&mut self, name: &str, value: Value) {
        if !self.0.iter().any(|(n, _)| n == name) {
            self.0.push((name.to_owned(), value));
        }
    }

    /// The object on one line, its fields in the order they were put.
    fn write(&self, writer: &mut Writer<'_>) -> fmt::Result {
        writer.write_char('{')?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                writer.write_char(',')?;
            }
            let name = serde_json::to_string(name).map_err(|_| fmt::Error)?;
            let value = serde_json::to_string(value).map_err(|_| fmt::Error)?;
            write!(writer, "{name}:{value}")?;
        }
        writer.write_str("}\n")
    }
}

/// A line's own fields, as JSON values, in the order they were given.
#[derive(Default)]
struct Fields {
    message: Option<Value>,
    /// The real target of an event that came through the `log` crate.
    log_target: Option<String>,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn add(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => self.message = Some(value),
            "log.target" => {
                if let Value::String(t) = value {
                    self.log_target = Some(t);
                }
            }
            // The `log` crate's bookkeeping (module, file, line), as the text format drops it.
            name if name.starts_with("log.") => {}
            name => self.fields.push((name.to_owned(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.add(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, Value::String(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.add(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%x` fields arrive here too, their `Debug` being their `Display`.
        self.add(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::JsonFields;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// The lines logged by `f`, as written and parsed.
    fn lines(f: impl FnOnce()) -> Vec<(String, Value)> {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .event_format(Json)
            .fmt_fields(JsonFields::new())
            .with_writer(buf.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| (l.to_owned(), serde_json::from_str(l).unwrap()))
            .collect()
    }

    #[test]
    fn a_line_in_a_request_has_its_id_at_the_top_level_and_its_own_fields_beside_it() {
        let got = lines(|| {
            let span = tracing::info_span!("request", request_id = "r-1");
            let _in = span.enter();
            let inner = tracing::trace_span!("inner", step = 2);
            let _inner = inner.enter();
            tracing::debug!(
                status = 200u16,
                ok = true,
                route = "/x",
                request_id = "forged",
                "answered"
            );
        });
        assert_eq!(got.len(), 1);
        let (text, line) = &got[0];
        let line = line.as_object().unwrap();
        // In the order written (a parsed map may sort its keys).
        let mut keys: Vec<&str> = line.keys().map(String::as_str).collect();
        keys.sort_by_key(|k| text.find(&format!("\"{k}\":")).unwrap());
        assert_eq!(
            keys,
            [
                "timestamp",
                "level",
                "target",
                "request_id",
                "step",
                "message",
                "status",
                "ok",
                "route"
            ]
        );
        assert_eq!(line["request_id"], "r-1", "an event cannot replace it");
        assert_eq!(line["level"], "DEBUG");
        assert_eq!(line["message"], "answered");
        assert_eq!(line["status"], 200);
        assert_eq!(line["ok"], true);
        assert_eq!(line["step"], 2);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_line_outside_any_request_has_no_request_id() {
        let got = lines(|| tracing::info!(event = "mail.sent", "delivered"));
        let line = got[0].1.as_object().unwrap();
        assert!(!line.contains_key("request_id"));
        assert_eq!(line["event"], "mail.sent");
        assert_eq!(line["target"], module_path!());
    }
}
