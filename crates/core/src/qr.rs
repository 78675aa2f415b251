//! QR codes for Key URIs, as SVG (in the enrolment answer) and PNG (`qr.png`).
//! The PNG is drawn from the module matrix with the small `png` encoder rather than
//! pulling in a whole image library.

use qrcode::{Color, EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
#[error("cannot draw QR code: {0}")]
pub struct QrError(String);

/// Medium error correction: survives a little glare on a screen while keeping the code
/// small enough for phone cameras at arm's length.
fn code(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

pub fn svg(data: &str) -> Result<String, QrError> {
    Ok(code(data)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Pixels per module and the quiet zone (in modules) required by ISO/IEC 18004.
const SCALE: usize = 6;
const QUIET: usize = 4;

pub fn png(data: &str) -> Result<Vec<u8>, QrError> {
    let code = code(data)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % width + QUIET, i / width + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
        }
    }
    let side32 = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| QrError(e.to_string()))?;
    w.write_image_data(&pixels)
        .map_err(|e| QrError(e.to_string()))?;
    w.finish().map_err(|e| QrError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_has_signature_and_svg_is_svg() {
        let uri =
            "otpauth://totp/Twofold:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Twofold";
        let png = super::png(uri).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(super::svg(uri).unwrap().contains("<svg"));
    }
}
