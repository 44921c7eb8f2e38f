//! The Teams app package: manifest.json and two icons in a .zip, for the Teams admin centre's
//! "Upload new app" (the rules and the manifest are the core's [`crate::teams`] module; this
//! draws the icons, zips, and writes the file).
//!
//! Teams' requirements (apps-package, manifest-schema icons): the color icon is a 192x192 PNG,
//! the outline icon a 32x32 PNG that is white on a transparent background; the package is a
//! zip of the three files at its root. The icons are drawn here rather than taken from
//! `icons/` (the desktop app's own icon is neither white nor transparent): a white ticket on
//! the accent color, and the same ticket alone as the outline.
//!
//! The package carries the profile's public values only (client ID, portal and service-desk
//! hosts, customer name): never a secret, certificate or token. The same profile and version
//! always give the same bytes (fixed zip timestamps, deterministic icons).
//!
//! Sources: <https://learn.microsoft.com/microsoftteams/platform/concepts/build-and-test/apps-package>,
//! <https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema>.

use std::path::Path;

use crate::profile::Profile;
use crate::validation::Issue;
// The rules and the manifest model, under the same path as the package code.
pub use entra_onboard_core::teams::*;

/// The largest package this writes (the real one is a few KiB): a bound, so a bug can never
/// write a runaway file.
pub const MAX_PACKAGE_BYTES: usize = 1024 * 1024;

/// A built package.
#[derive(Debug, Clone)]
pub struct TeamsPackage {
    /// What the registration and the admin need (as in the plan).
    pub plan: TeamsTabPlan,
    /// The manifest written.
    pub manifest: TeamsManifest,
    /// The zip file's bytes.
    pub zip: Vec<u8>,
}

/// Why no package could be built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TeamsPackageError {
    /// The profile lacks what the package needs; each issue names its field and fix.
    #[error("{}", .0.iter().map(|i| format!("{}: {} {}", i.field, i.message, i.fix)).collect::<Vec<_>>().join("\n"))]
    Profile(Vec<Issue>),
    /// Writing the file failed.
    #[error("could not write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
}

impl TeamsPackageError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            TeamsPackageError::Profile(_) => "teams.profile",
            TeamsPackageError::Write { .. } => "teams.write",
        }
    }
}

/// Builds the package for `profile` with the app `version` (`MAJOR.MINOR.PATCH`).
pub fn build(profile: &Profile, version: &str) -> Result<TeamsPackage, TeamsPackageError> {
    let b = crate::steps::basics::resolve(profile);
    let plan = tab_plan(profile, &b).map_err(TeamsPackageError::Profile)?;
    let manifest =
        manifest(profile, &plan, version).map_err(|i| TeamsPackageError::Profile(vec![i]))?;
    let files = [
        (MANIFEST_FILE, manifest.to_json().into_bytes()),
        (COLOR_ICON_FILE, color_icon()),
        (OUTLINE_ICON_FILE, outline_icon()),
    ];
    let zip = zip_stored(&files);
    debug_assert!(zip.len() <= MAX_PACKAGE_BYTES);
    Ok(TeamsPackage {
        plan,
        manifest,
        zip,
    })
}

/// Builds the package and writes it atomically to `path` (a new or replaced file; the
/// folder must exist). Returns the package.
pub fn write_package(
    profile: &Profile,
    version: &str,
    path: &Path,
) -> Result<TeamsPackage, TeamsPackageError> {
    let package = build(profile, version)?;
    if package.zip.len() > MAX_PACKAGE_BYTES {
        return Err(TeamsPackageError::Write {
            path: path.display().to_string(),
            message: format!("the package is larger than {MAX_PACKAGE_BYTES} bytes"),
        });
    }
    crate::profile::write_atomic(path, &package.zip).map_err(|e| TeamsPackageError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(package)
}

/// Writes the package to the export folder (Downloads) as `<customer> Teams app.zip`, never
/// over an existing file (the app's "Save the Teams app package").
pub fn export_package(
    profile: &Profile,
    version: &str,
) -> Result<(std::path::PathBuf, TeamsPackage), TeamsPackageError> {
    let package = build(profile, version)?;
    let path =
        crate::exports::write_export(&format!("{} Teams app", profile.name), "zip", &package.zip)
            .map_err(|e| TeamsPackageError::Write {
            path: "the export folder".into(),
            message: e.to_string(),
        })?;
    Ok((path, package))
}

// ---- Icons ------------------------------------------------------------------------------

/// Whether pixel (x, y) of a `size`-square icon belongs to the ticket glyph: a rounded card
/// outline with two text lines, drawn in a frame proportional to the size.
fn ticket(x: u32, y: u32, size: u32) -> bool {
    let s = size as f32;
    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
    // The card: an inset rectangle with a stroke of ~1/12 of the size.
    let (l, r, t, b) = (s * 0.16, s * 0.84, s * 0.22, s * 0.78);
    let stroke = (s / 12.0).max(2.0);
    let inside = fx >= l && fx <= r && fy >= t && fy <= b;
    let inner = fx >= l + stroke && fx <= r - stroke && fy >= t + stroke && fy <= b - stroke;
    // Two notches halfway down the sides, as on a ticket stub.
    let notch = (s * 0.07).max(2.0);
    let mid = (t + b) / 2.0;
    let in_notch = ((fx - l).powi(2) + (fy - mid).powi(2)).sqrt() < notch
        || ((fx - r).powi(2) + (fy - mid).powi(2)).sqrt() < notch;
    let border = inside && !inner && !in_notch;
    // Two lines of "text" inside.
    let line_h = stroke * 0.8;
    let line = |top: f32, right: f32| {
        fx >= l + stroke * 2.0 && fx <= right && fy >= top && fy <= top + line_h
    };
    let text =
        line(t + (b - t) * 0.30, r - stroke * 2.0) || line(t + (b - t) * 0.58, r - (r - l) * 0.35);
    border || text
}

/// The 192x192 color icon: the white ticket on the accent color, opaque.
pub fn color_icon() -> Vec<u8> {
    let size = COLOR_ICON_SIZE;
    let accent = accent_rgb();
    let mut rgba = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let [r, g, b] = if ticket(x, y, size) {
                [255, 255, 255]
            } else {
                accent
            };
            rgba.extend_from_slice(&[r, g, b, 255]);
        }
    }
    encode_png(size, &rgba)
}

/// The 32x32 outline icon: the ticket in white, everything else fully transparent (Teams
/// requires "white with transparent background").
pub fn outline_icon() -> Vec<u8> {
    let size = OUTLINE_ICON_SIZE;
    let mut rgba = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let a = if ticket(x, y, size) { 255 } else { 0 };
            rgba.extend_from_slice(&[255, 255, 255, a]);
        }
    }
    encode_png(size, &rgba)
}

fn accent_rgb() -> [u8; 3] {
    let hex = ACCENT_COLOR.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    [byte(0), byte(2), byte(4)]
}

fn encode_png(size: u32, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, size, size);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    // Writing to a Vec of the right size cannot fail.
    let mut w = enc.write_header().expect("PNG header to memory");
    w.write_image_data(rgba).expect("PNG data to memory");
    w.finish().expect("PNG end to memory");
    out
}

// ---- Zip ------------------------------------------------------------------------------

/// 1980-01-01 00:00 in MS-DOS form (the zip epoch): a fixed timestamp keeps the bytes the
/// same for the same profile.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

/// A zip of `files` at its root, each stored (method 0: the PNGs are compressed already and
/// the manifest is a few KiB), per PKWARE's APPNOTE 4.3: local headers, central directory,
/// end record. Names are ASCII; sizes are far below the zip64 limits.
fn zip_stored(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let size = data.len() as u32;
        let name = name.as_bytes();
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes()); // compressed
        out.extend_from_slice(&size.to_le_bytes()); // uncompressed
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: 2.0, MS-DOS
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    let n = files.len() as u16;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // disk with the directory
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn the_outline_is_white_on_transparent_and_32_square() {
        let (w, h, px) = decode(&outline_icon());
        assert_eq!((w, h), (32, 32));
        let mut drawn = 0;
        for p in px.chunks(4) {
            assert!(p[3] == 0 || p[..3] == [255, 255, 255], "{p:?}");
            if p[3] == 255 {
                drawn += 1;
            }
        }
        // Something is drawn, and the background is transparent.
        assert!(drawn > 50 && drawn < 32 * 32 / 2, "{drawn}");
        assert_eq!(&px[..4], &[255, 255, 255, 0]);
    }

    #[test]
    fn the_color_icon_is_opaque_and_192_square() {
        let (w, h, px) = decode(&color_icon());
        assert_eq!((w, h), (192, 192));
        assert!(px.chunks(4).all(|p| p[3] == 255));
        assert_eq!(&px[..3], &accent_rgb());
        assert!(px.chunks(4).any(|p| p[..3] == [255, 255, 255]));
    }
}
