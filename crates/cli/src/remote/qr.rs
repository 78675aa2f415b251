//! Drawing a Key URI's QR code in the terminal, two modules per character cell with the
//! half blocks `▀ ▄ █`, inside the quiet zone of 4 modules ISO/IEC 18004 asks for. The
//! colours are set explicitly (black on white) so that a phone camera reads it on a dark
//! terminal as on a light one; then the key itself, grouped by four for typing.

use qrcode::{Color, EcLevel, QrCode};

use crate::failure::Failure;

const QUIET: usize = 4;
/// Black foreground on a bright white background, then back to the terminal's colours.
const START: &str = "\x1b[30;107m";
const END: &str = "\x1b[0m";

/// The QR code of `data` as lines of text.
pub fn render(data: &str) -> Result<String, Failure> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| Failure::new("failed", format!("cannot draw the QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let side = width + 2 * QUIET;
    let dark = |x: usize, y: usize| {
        x >= QUIET
            && y >= QUIET
            && x < width + QUIET
            && y < width + QUIET
            && colors[(y - QUIET) * width + (x - QUIET)] == Color::Dark
    };
    let mut out = String::new();
    // Two rows of modules per line of text; an odd last row pairs with a light one.
    for y in (0..side).step_by(2) {
        out.push_str(START);
        for x in 0..side {
            out.push(match (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str(END);
        out.push('\n');
    }
    Ok(out)
}

/// The Base32 secret of an `otpauth://` URI, in groups of four for typing.
pub fn grouped_secret(uri: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    let secret = query.split('&').find_map(|kv| kv.strip_prefix("secret="))?;
    let groups: Vec<String> = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Some(groups.join(" "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_secret_is_grouped_by_four() {
        let uri =
            "otpauth://totp/Twofold:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Twofold";
        assert_eq!(
            grouped_secret(uri).unwrap(),
            "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
        );
    }

    #[test]
    fn the_code_is_square_with_its_quiet_zone() {
        let text = render("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let width = lines[0]
            .trim_start_matches(START)
            .trim_end_matches(END)
            .chars()
            .count();
        // Two modules a line: (width + 1) / 2 lines.
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(lines[0].contains(&" ".repeat(width)), "quiet zone on top");
    }
}
