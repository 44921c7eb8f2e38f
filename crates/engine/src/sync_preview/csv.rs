//! The preview as CSV (RFC 4180), and a small reader for exports given back to the preview.
//!
//! Writing: CRLF line ends; a field is quoted when it holds a comma, a double quote, CR or
//! LF, with quotes doubled. Spreadsheet formula injection is defused (OWASP "CSV
//! Injection"): a cell starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, so
//! a display name such as `=HYPERLINK(…)` from the directory is shown, never run. The
//! guard changes the text, so a reader that wants the raw value strips one leading `'`
//! from such cells ([`unguard`]).
//!
//! Reading ([`parse`]): RFC 4180 records, quoted fields with doubled quotes and embedded
//! line breaks, CRLF or LF; a UTF-8 BOM is skipped.

use std::io::{self, Write};

use super::{PreviewRow, SyncPreview};

/// The header row.
pub const HEADER: &[&str] = &[
    "tenant_id",
    "site",
    "object_id",
    "display_name",
    "user_principal_name",
    "email",
    "network_login",
    "account_enabled",
    "outcome",
    "reason",
    "matched_by",
    "duplicate_email",
    "last_sign_in",
];

/// Defuses formula injection (see the module docs).
pub fn guard(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Undoes [`guard`].
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ) =>
        {
            rest
        }
        _ => cell,
    }
}

/// One field, guarded and quoted as needed.
pub fn field(cell: &str) -> String {
    let g = guard(cell);
    if g.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", g.replace('"', "\"\""))
    } else {
        g
    }
}

fn record(w: &mut dyn Write, cells: &[&str]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    w.write_all(line.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

fn row_cells(r: &PreviewRow) -> [String; 13] {
    [
        r.tenant_id.clone(),
        r.site.clone().unwrap_or_default(),
        r.object_id.clone(),
        r.display_name.clone(),
        r.user_principal_name.clone(),
        r.email.clone().unwrap_or_default(),
        r.network_login.clone().unwrap_or_default(),
        r.account_enabled.to_string(),
        r.outcome.label().to_string(),
        r.reason.to_string(),
        r.matched_by
            .map(|m| m.label().to_string())
            .unwrap_or_default(),
        r.duplicate_email.to_string(),
        r.last_sign_in.clone().unwrap_or_default(),
    ]
}

/// Writes the preview's rows as CSV (header first).
pub fn write_csv(p: &SyncPreview, w: &mut dyn Write) -> io::Result<()> {
    record(w, HEADER)?;
    for r in &p.rows {
        let cells = row_cells(r);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        record(w, &refs)?;
    }
    w.flush()
}

/// Parses CSV text into records (see the module docs).
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut rec: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    let mut line = 1usize;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                        return Err(format!("line {line}: text after a closing quote"));
                    }
                }
                '\n' => {
                    line += 1;
                    cur.push(c);
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if cur.is_empty() => quoted = true,
            ',' => rec.push(std::mem::take(&mut cur)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                rec.push(std::mem::take(&mut cur));
                out.push(std::mem::take(&mut rec));
                any = false;
            }
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if any {
        rec.push(cur);
        out.push(rec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_guard_round_trip() {
        let cells = [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\r\nlines",
            "=SUM(A1)",
            "+1",
            "-x",
            "@cmd",
            "O'Brien",
            "",
        ];
        let mut buf = Vec::new();
        record(&mut buf, &cells).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.ends_with("\r\n"));
        assert!(text.contains("\"'=SUM(A1)\"") || text.contains(",'=SUM(A1),"));
        let back = parse(&text).unwrap();
        assert_eq!(back.len(), 1);
        let raw: Vec<&str> = back[0].iter().map(|c| unguard(c)).collect();
        assert_eq!(raw, cells);
        assert_eq!(back[0][4], "'=SUM(A1)");
        assert_eq!(back[0][8], "O'Brien");
    }

    #[test]
    fn parse_errors_and_lf() {
        assert_eq!(
            parse("a,b\nc,d").unwrap(),
            vec![vec!["a", "b"], vec!["c", "d"]]
        );
        assert!(parse("\"open").is_err());
        assert!(parse("\"a\"b").is_err());
        assert_eq!(parse("\u{feff}x\r\n").unwrap(), vec![vec!["x"]]);
    }
}
