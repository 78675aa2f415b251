//! `twofold user import`: reads the CSV file, hands the rows to the server library's
//! two-phase import, and shows progress on a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;

use twofold_server::Twofold;
use twofold_server::domain::import::{COLUMNS, ImportRecord, RowError};

use crate::args::Output;
use crate::failure::Failure;
use crate::output;

/// Bad rows printed before the rest are only counted.
const MAX_ROW_ERRORS_SHOWN: usize = 50;

/// Reads `path` (`-` for standard input). Rows the CSV reader itself rejects (invalid
/// UTF-8, a wrong number of columns) come back as row errors, like any other bad row.
pub fn read_records(path: &Path) -> Result<(Vec<ImportRecord>, Vec<RowError>), Failure> {
    let reader: Box<dyn std::io::Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            Failure::new(
                "invalid_input",
                format!("cannot read {}: {e}", path.display()),
            )
        })?)
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (index, result) in csv.records().enumerate() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) && line == 0 {
                    return Err(Failure::new(
                        "invalid_input",
                        format!("cannot read {}: {e}", path.display()),
                    ));
                }
                errors.push(RowError {
                    line,
                    message: "not valid UTF-8 text".into(),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fields: Vec<&str> = record.iter().collect();
        let is_header = index == 0
            && fields.len() == COLUMNS.len()
            && fields
                .iter()
                .zip(COLUMNS)
                .all(|(f, c)| f.trim().eq_ignore_ascii_case(c));
        if is_header {
            continue;
        }
        if fields.len() != COLUMNS.len() {
            // PHC hashes hold commas ("m=19456,t=2,p=1"): the likeliest cause of extra
            // columns, so say how to write them.
            let hint = if fields.len() > COLUMNS.len() {
                "; put fields that contain commas, such as Argon2 or scrypt hashes, in double quotes"
            } else {
                ""
            };
            errors.push(RowError {
                line,
                message: format!(
                    "expected {} columns ({}), found {}{hint}",
                    COLUMNS.len(),
                    COLUMNS.join(","),
                    fields.len()
                ),
            });
            continue;
        }
        records.push(ImportRecord {
            line,
            username: fields[0].to_owned(),
            email: fields[1].to_owned(),
            role: fields[2].to_owned(),
            password: fields[3].to_owned(),
            totp_uri: fields[4].to_owned(),
        });
    }
    Ok((records, errors))
}

/// Runs the whole command; prints the outcome on stdout.
pub async fn import(
    tf: &Twofold,
    org: &str,
    path: &Path,
    dry_run: bool,
    out: Output,
) -> Result<(), Failure> {
    let (records, mut errors) = read_records(path)?;
    let total = records.len() + errors.len();
    let checked = tf.check_import(org, records).await?;
    errors.extend_from_slice(checked.errors());
    errors.sort_by_key(|e| e.line);
    if !errors.is_empty() {
        for e in errors.iter().take(MAX_ROW_ERRORS_SHOWN) {
            eprintln!("{e}");
        }
        if errors.len() > MAX_ROW_ERRORS_SHOWN {
            eprintln!("… and {} more", errors.len() - MAX_ROW_ERRORS_SHOWN);
        }
        return Err(Failure::new(
            "invalid_input",
            format!(
                "{} of {total} rows are invalid; nothing was imported",
                errors.len()
            ),
        ));
    }
    if total == 0 {
        return Err(Failure::new(
            "invalid_input",
            format!("{}: no rows to import", path.display()),
        ));
    }
    let (valid, with_totp) = (checked.valid_rows(), checked.with_totp());
    if dry_run {
        let result = serde_json::json!({
            "dry_run": true, "valid_rows": valid, "with_authenticator": with_totp,
        });
        return output::print(out, &result, |_| {
            let rows = if valid == 1 { "row" } else { "rows" };
            println!(
                "{valid} valid {rows} ({with_totp} with an authenticator); nothing was written (--dry-run)"
            );
        });
    }
    if checked.plain_passwords() > 0 {
        eprintln!(
            "hashing {} plain password(s) with Argon2id: this takes a while",
            checked.plain_passwords()
        );
    }
    let mut bar = Progress::new(valid);
    let summary = tf.run_import(checked, &mut |done| bar.show(done)).await;
    bar.finish();
    let summary = summary?;
    let result = serde_json::json!({
        "org": org, "imported_users": summary.users, "with_authenticator": summary.factors,
    });
    output::print(out, &result, |_| {
        println!(
            "imported {} users ({} with an authenticator) into {org}",
            summary.users, summary.factors
        );
    })
}

/// A one-line progress bar on standard error, drawn only when it is a terminal (so logs
/// and pipes stay clean).
struct Progress {
    total: usize,
    tty: bool,
    drawn: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            tty: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    fn show(&mut self, done: usize) {
        if !self.tty {
            return;
        }
        const WIDTH: usize = 30;
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled.min(WIDTH))
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rimporting [{bar}] {done}/{} users", self.total);
        let _ = err.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}
