//! The auditors' HTML report: one self-contained page (inline CSS, inline
//! script drawing SVG charts; nothing fetched) that a browser opens from a
//! file.
//!
//! At the top, the verification result (and every problem found); then the
//! figures (records, allowed, refused, failed, the time span); accesses per
//! product and per role over time, as stacked bar charts; the refused
//! attempts; and every reveal of a protected class (a field passed or
//! revealed in the clear to a caller). The charts' data is embedded as JSON
//! and drawn by the page's script; each bar and legend entry carries its
//! figure in a `data-count` / `data-total` attribute, so that a test (or a
//! curious auditor) can check it against the log.

use std::{collections::BTreeMap, fmt::Write as _, time::SystemTime};

use serde::Serialize;

use crate::{Decision, Record, Report, query::parse_time};

/// Bucket widths, in seconds, from which the charts pick the first that
/// gives at most [`MAX_BUCKETS`].
const WIDTHS: [u64; 9] = [
    60,
    300,
    900,
    3600,
    6 * 3600,
    86400,
    7 * 86400,
    30 * 86400,
    365 * 86400,
];
const MAX_BUCKETS: u64 = 48;

#[derive(Serialize)]
struct ChartData {
    /// Bucket start times, RFC 3339.
    buckets: Vec<String>,
    /// Per series, the count in each bucket.
    series: BTreeMap<String, Vec<u64>>,
}

/// Renders the report for `records` (verified as `verification` says).
/// `sources` names the files, for the page's heading.
pub fn render(verification: &Report, records: &[&Record], sources: &[String]) -> String {
    let times: Vec<u64> = records
        .iter()
        .map(|r| {
            parse_time(&r.time)
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs())
        })
        .collect();
    let first = times.iter().copied().min().unwrap_or(0);
    let last = times.iter().copied().max().unwrap_or(0);
    let width = WIDTHS
        .iter()
        .copied()
        .find(|w| (last / w) - (first / w) < MAX_BUCKETS)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1]);
    let start = first / width * width;
    let count = if records.is_empty() {
        0
    } else {
        usize::try_from((last - start) / width + 1).unwrap_or(0)
    };
    let bucket_names: Vec<String> = (0..count)
        .map(|i| {
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(start + i as u64 * width),
            )
            .to_string()
        })
        .collect();
    let mut products = ChartData {
        buckets: bucket_names.clone(),
        series: BTreeMap::new(),
    };
    let mut roles = ChartData {
        buckets: bucket_names,
        series: BTreeMap::new(),
    };
    for (record, time) in records.iter().zip(&times) {
        let bucket = usize::try_from((time - start) / width).unwrap_or(0);
        let product = record
            .product
            .clone()
            .unwrap_or_else(|| "(none)".to_owned());
        products
            .series
            .entry(product)
            .or_insert_with(|| vec![0; count])[bucket] += 1;
        let role_names: Vec<String> = match &record.principal {
            Some(p) if !p.roles.is_empty() => p.roles.clone(),
            Some(_) => vec!["(no role)".to_owned()],
            None => vec!["(anonymous)".to_owned()],
        };
        for role in role_names {
            roles.series.entry(role).or_insert_with(|| vec![0; count])[bucket] += 1;
        }
    }

    let allowed = records
        .iter()
        .filter(|r| r.decision == Decision::Allowed)
        .count();
    let refused: Vec<&&Record> = records
        .iter()
        .filter(|r| r.decision == Decision::Refused)
        .collect();
    let failed = records
        .iter()
        .filter(|r| r.decision == Decision::Failed)
        .count();

    let mut html = String::with_capacity(64 * 1024);
    html.push_str(HEAD);
    let _ = write!(
        html,
        "<h1>maskgate audit report</h1><p class=\"sources\">{} file(s): {}</p>",
        verification.files,
        escape(&sources.join(", "))
    );
    if verification.is_ok() {
        let signed: Vec<String> = verification
            .last_signed
            .iter()
            .map(|(i, s)| format!("{} up to seq {s}", escape(i)))
            .collect();
        let _ = write!(
            html,
            "<section id=\"verification\" class=\"ok\"><h2>Verification: OK</h2><p>The log is complete and untouched: {} records, {} signed checkpoints ({}), {}.</p></section>",
            verification.records,
            verification.checkpoints,
            signed.join("; "),
            if verification.unsigned_tail.is_empty() {
                "ending with the final checkpoint".to_owned()
            } else {
                format!(
                    "still being written: {} line(s) after the last checkpoint are not signed yet",
                    verification.unsigned_tail.values().sum::<u64>()
                )
            }
        );
    } else {
        let _ = write!(
            html,
            "<section id=\"verification\" class=\"failed\"><h2>Verification: FAILED</h2><p>{} problem(s): the log was modified, is incomplete, or is not signed with this key. The figures below are from the records as they are.</p><ul>",
            verification.problems.len()
        );
        for problem in verification.problems.iter().take(200) {
            let _ = write!(
                html,
                "<li><code>{}</code></li>",
                escape(&problem.to_string())
            );
        }
        html.push_str("</ul></section>");
    }
    let span = match (records.is_empty(), times.first()) {
        (false, Some(_)) => format!(
            "{} to {}",
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(first)
            ),
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(last)
            )
        ),
        _ => "no records".to_owned(),
    };
    let _ = write!(
        html,
        "<section id=\"figures\"><h2>Figures</h2><dl>\
         <dt>records</dt><dd id=\"n-records\">{}</dd>\
         <dt>allowed</dt><dd id=\"n-allowed\">{allowed}</dd>\
         <dt>refused</dt><dd id=\"n-refused\">{}</dd>\
         <dt>failed</dt><dd id=\"n-failed\">{failed}</dd>\
         <dt>reveals of protected classes</dt><dd id=\"n-reveals\">{}</dd>\
         <dt>time span</dt><dd>{}</dd></dl></section>",
        records.len(),
        refused.len(),
        records
            .iter()
            .filter(|r| r.fields.iter().any(crate::FieldTreatment::is_reveal))
            .count(),
        escape(&span),
    );
    let _ = write!(
        html,
        "<section><h2>Accesses per product</h2><p class=\"note\">per {} bucket</p><div class=\"chart\" id=\"chart-products\"></div></section>\
         <section><h2>Accesses per role</h2><p class=\"note\">per {} bucket; a request counts once for each role of its caller</p><div class=\"chart\" id=\"chart-roles\"></div></section>",
        humantime::format_duration(std::time::Duration::from_secs(width)),
        humantime::format_duration(std::time::Duration::from_secs(width)),
    );

    html.push_str("<section id=\"refused\"><h2>Refused attempts</h2>");
    table(
        &mut html,
        &[
            "time", "subject", "roles", "product", "method", "path", "status", "reason",
        ],
        refused.iter().map(|r| {
            let (subject, roles) = principal(r);
            vec![
                r.time.clone(),
                subject,
                roles,
                r.product.clone().unwrap_or_default(),
                r.method.clone(),
                r.path.clone(),
                r.status.to_string(),
                r.reason.clone().unwrap_or_default(),
            ]
        }),
    );
    html.push_str("</section><section id=\"reveals\"><h2>Reveals of protected classes</h2>");
    table(
        &mut html,
        &[
            "time", "subject", "roles", "purpose", "product", "field", "class", "action", "values",
        ],
        records.iter().flat_map(|r| {
            r.fields.iter().filter(|f| f.is_reveal()).map(move |f| {
                let (subject, roles) = principal(r);
                vec![
                    r.time.clone(),
                    subject,
                    roles,
                    r.purpose.clone().unwrap_or_default(),
                    r.product.clone().unwrap_or_default(),
                    f.path.clone(),
                    f.class.clone(),
                    f.action.clone(),
                    f.count.to_string(),
                ]
            })
        }),
    );
    html.push_str("</section>");
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"data-products\">{}</script>\
         <script type=\"application/json\" id=\"data-roles\">{}</script>",
        embed(&products),
        embed(&roles)
    );
    html.push_str(SCRIPT);
    html.push_str("</body></html>\n");
    html
}

fn principal(record: &Record) -> (String, String) {
    record.principal.as_ref().map_or_else(
        || ("-".to_owned(), "-".to_owned()),
        |p| (p.subject.clone(), p.roles.join(", ")),
    )
}

fn table(html: &mut String, headings: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    html.push_str("<table><thead><tr>");
    for h in headings {
        let _ = write!(html, "<th>{h}</th>");
    }
    html.push_str("</tr></thead><tbody>");
    let mut n = 0;
    for row in rows {
        n += 1;
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>");
    }
    if n == 0 {
        let _ = write!(
            html,
            "<tr><td colspan=\"{}\">none</td></tr>",
            headings.len()
        );
    }
    html.push_str("</tbody></table>");
}

/// JSON safe inside a `<script>` element.
fn embed(data: &ChartData) -> String {
    serde_json::to_string(data)
        .expect("chart data serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Text safe in HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>maskgate audit report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em}
.sources,.note{color:#666;font-size:.9em}
#verification{padding:.6em 1em;border-radius:6px}
#verification.ok{background:#e6f4ea;border:1px solid #34a853}
#verification.failed{background:#fce8e6;border:1px solid #d93025}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}dt{color:#555}dd{margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td{word-break:break-all}
.chart svg{width:100%;height:auto;background:#fafafa;border:1px solid #eee}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1.2em}
.legend span{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em}
</style></head><body>
"##;

/// Draws each chart from its embedded data: stacked bars, one `rect.bar`
/// per (bucket, series) with a count, an axis and a legend with totals.
const SCRIPT: &str = r##"<script>
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#4285f4","#ea4335","#fbbc04","#34a853","#ff6d01","#46bdc6","#7baaf7","#f07b72","#a142f4","#24c1e0"];
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function draw(id) {
    var data = JSON.parse(document.getElementById("data-" + id).textContent);
    var box = document.getElementById("chart-" + id);
    var names = Object.keys(data.series);
    var n = data.buckets.length;
    if (!n || !names.length) { box.textContent = "no records"; return; }
    var totals = data.buckets.map(function (_, i) {
      return names.reduce(function (s, k) { return s + data.series[k][i]; }, 0);
    });
    var max = Math.max.apply(null, totals.concat([1]));
    var W = 900, H = 260, L = 40, B = 40, T = 10;
    var bw = Math.min((W - L - 10) / n, 80);
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "class": "chart-svg"}, box);
    el("line", {x1: L, y1: H - B, x2: W - 5, y2: H - B, stroke: "#999"}, svg);
    el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}, svg);
    var top = el("text", {x: L - 4, y: T + 10, "text-anchor": "end", "font-size": 11}, svg);
    top.textContent = max;
    for (var i = 0; i < n; i++) {
      var y = H - B;
      names.forEach(function (name, s) {
        var c = data.series[name][i];
        if (!c) return;
        var h = (H - B - T) * c / max;
        y -= h;
        var r = el("rect", {"class": "bar", x: L + i * bw + 1, y: y, width: Math.max(bw - 2, 1), height: h,
          fill: COLORS[s % COLORS.length], "data-series": name, "data-count": c}, svg);
        el("title", {}, r).textContent = name + ": " + c + " at " + data.buckets[i];
      });
      if (n <= 12 || i % Math.ceil(n / 12) === 0) {
        var t = el("text", {x: L + i * bw + bw / 2, y: H - B + 14, "text-anchor": "middle", "font-size": 10}, svg);
        t.textContent = data.buckets[i].slice(5, 16).replace("T", " ");
      }
    }
    var legend = document.createElement("ul");
    legend.className = "legend";
    names.forEach(function (name, s) {
      var total = data.series[name].reduce(function (a, b) { return a + b; }, 0);
      var li = document.createElement("li");
      li.setAttribute("data-series", name);
      li.setAttribute("data-total", total);
      var sw = document.createElement("span");
      sw.style.background = COLORS[s % COLORS.length];
      li.appendChild(sw);
      li.appendChild(document.createTextNode(name + ": " + total));
      legend.appendChild(li);
    });
    box.appendChild(legend);
  }
  draw("products");
  draw("roles");
  document.body.setAttribute("data-rendered", "yes");
})();
</script>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_data_cannot_close_the_script() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
        let mut series = BTreeMap::new();
        series.insert("</script><b>".to_owned(), vec![1]);
        let data = ChartData {
            buckets: vec!["t".into()],
            series,
        };
        assert!(!embed(&data).contains("</script>"));
    }
}
