//! The GitHub workflows (issue 17): every action is pinned by commit SHA (a tag can be moved
//! to other code by whoever controls the action's repository), and CI runs on the platforms
//! the admins use, not only on Linux.

use std::path::PathBuf;

fn workflows() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_action_is_pinned_by_commit_sha() {
    let mut seen = 0;
    for (name, text) in workflows() {
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            seen += 1;
            let target = rest.split('#').next().unwrap().trim();
            let (action, rev) = target
                .rsplit_once('@')
                .unwrap_or_else(|| panic!("{name}:{}: {target} has no @revision", n + 1));
            assert!(
                rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}:{}: {action} is pinned to {rev:?}, not a commit SHA",
                n + 1
            );
        }
    }
    assert!(seen >= 10, "only {seen} `uses:` lines found");
}

#[test]
fn ci_runs_on_windows_and_macos_with_their_keychains() {
    let ci = workflows()
        .into_iter()
        .find(|(n, _)| n == "ci.yml")
        .expect("ci.yml")
        .1;
    for needle in [
        "windows-latest",
        "macos-latest",
        "security create-keychain",
        "security delete-keychain",
        "msedgedriver",
        "--test e2e",
        "Parser]::ParseFile",
        "cargo build --locked --release",
    ] {
        assert!(ci.contains(needle), "ci.yml lacks {needle:?}");
    }
}
