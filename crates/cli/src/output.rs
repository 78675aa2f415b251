//! Printing results: text for people (tables with aligned columns) or one JSON document
//! for scripts, on stdout. Prompts and notices go to the terminal or stderr instead, so
//! stdout holds only the result.

use serde::Serialize;

use crate::args::Output;
use crate::failure::Failure;

/// Prints `value` as JSON, or runs `text` to print it for people.
pub fn print<T: Serialize>(
    output: Output,
    value: &T,
    text: impl FnOnce(&T),
) -> Result<(), Failure> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::Text => text(value),
    }
    Ok(())
}

/// A table: the header, then one line per row, columns padded to their widest cell.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header);
    for row in rows {
        line(&row.each_ref().map(String::as_str));
    }
}

/// `-` for a missing value in a table cell.
pub fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

/// The MFA column, with the identity providers the user signs in through.
pub(crate) fn with_providers(mfa: &str, providers: &[String]) -> String {
    if providers.is_empty() {
        mfa.to_owned()
    } else {
        format!("{mfa} ({})", providers.join(", "))
    }
}
