//! The customer list at a partner's scale (hundreds to thousands of customers): search,
//! filters and sort over the dashboard's cards, answered one page at a time, and a cache of
//! the cards so that typing in the search box or scrolling reads no profile file.
//!
//! The screen asks for the page it shows ([`CustomerQuery`]: words, filters, sort, offset
//! and limit) and renders the [`CustomerPage`] it gets; the CLI's `dashboard --search`
//! filters with the same [`CustomerCard::matches`]. The order is total (ties broken by name,
//! then id, then file), so consecutive pages never repeat or skip a card.
//!
//! [`CardCache`] keeps one card per profile file with the file's stamp (length, modified
//! time and, on Unix, the inode: every save is a rename of a new file, so a new inode) and
//! re-reads only the files whose stamp changed, appeared or went away. Every write of the
//! store (a save, an import, a delete) adds, renames or removes a file, which changes the
//! folder's own modified time: a query whose folder stamp is unchanged costs one `stat`,
//! and only a changed folder is listed and its files' stamps compared. A folder changed
//! within [`RACY`] of the last look is looked at again next time (a timestamp's tick is
//! coarser than a save, the "racy" case), and the app also calls [`CardCache::invalidate`]
//! or [`CardCache::invalidate_profile`] after its own saves, deletes and imports, so no
//! stamp the file system cannot tell apart hides the app's own change.
//!
//! Left out: watching the folder for changes (a query checks the stamps itself).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dashboard::{CustomerCard, ExpiryLevel};
use crate::profile::{ProfileError, ProfileStore, UnreadableProfile, read_file};

/// How recent a folder change must be for its stamp not to be trusted yet (see the module
/// documentation): well above any file system's timestamp tick (FAT's is 2 s).
pub const RACY: std::time::Duration = std::time::Duration::from_secs(3);

/// Largest page one query returns: a window of a tall screen, with room to spare. A larger
/// `limit` is clamped, so no caller can ask for a copy of the whole list per scroll.
pub const MAX_PAGE: usize = 200;

/// One of the list's filters. Several together keep the cards that pass every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CustomerFilter {
    /// The credential expires within 60 days or has expired: every card with an expiry
    /// badge (the dashboard's first warning, `EXPIRY_WARN_DAYS`).
    Expiring,
    /// Something failed: the last SSO test, or a tenant's admin consent (failed or declined).
    Failing,
    /// No passing SSO test recorded.
    Unverified,
    /// Practice customers on the sandbox tenant.
    Sandbox,
}

impl CustomerFilter {
    /// Every filter, in the order the screen offers them.
    pub const ALL: [CustomerFilter; 4] = [
        CustomerFilter::Expiring,
        CustomerFilter::Failing,
        CustomerFilter::Unverified,
        CustomerFilter::Sandbox,
    ];

    /// True when `card` passes this filter.
    pub fn keeps(self, card: &CustomerCard) -> bool {
        match self {
            CustomerFilter::Expiring => card.expiry >= ExpiryLevel::Within60,
            CustomerFilter::Failing => {
                card.last_test.as_ref().is_some_and(|t| !t.ok)
                    || card.consent.failed + card.consent.declined > 0
            }
            CustomerFilter::Unverified => card.verified_at.is_none(),
            CustomerFilter::Sandbox => card.sandbox,
        }
    }
}

/// The list's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CustomerSort {
    /// Soonest expiry first (expired ones at the top), then customers with no expiry date;
    /// by name within the same date.
    #[default]
    Expiry,
    /// By name, A to Z (case-insensitive).
    Name,
    /// Most recently saved first (the CLI dashboard's order).
    Recent,
}

/// What the screen shows: the search words, filters, order and the rows in view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct CustomerQuery {
    /// Search words ([`CustomerCard::matches`]: every word, in the name, service desk
    /// address or tenant ID); empty = everyone.
    pub search: String,
    /// Filters, all of which a card must pass.
    pub filters: Vec<CustomerFilter>,
    /// The order.
    pub sort: CustomerSort,
    /// Index of the first card to return (past the end = an empty page).
    pub offset: usize,
    /// How many cards to return at most (clamped to [`MAX_PAGE`]).
    pub limit: usize,
}

/// How many customers each filter would keep (over all customers, whatever the query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CustomerFilterCounts {
    /// [`CustomerFilter::Expiring`].
    pub expiring: usize,
    /// [`CustomerFilter::Failing`].
    pub failing: usize,
    /// [`CustomerFilter::Unverified`].
    pub unverified: usize,
    /// [`CustomerFilter::Sandbox`].
    pub sandbox: usize,
}

/// One page of the customer list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CustomerPage {
    /// The cards from `offset`, at most the query's limit, in the query's order.
    pub cards: Vec<CustomerCard>,
    /// The query's offset (so an answer can be matched to its question).
    pub offset: usize,
    /// How many cards match the search and filters (the list's length).
    pub total: usize,
    /// How many customers there are, matching or not (0 = the empty screen).
    pub customers: usize,
    /// How many each filter would keep.
    pub counts: CustomerFilterCounts,
    /// The practice (sandbox) customer that "Practice with the sandbox" reopens: the most
    /// recently saved one, should an older version have made several.
    pub practice_id: Option<String>,
    /// Files in the profile folder that could not be read, with the reason.
    pub unreadable: Vec<UnreadableProfile>,
    /// Every customer with a credential rotation left in progress (issue 15), by name,
    /// whatever the search, filters and window: the list's banner names them all.
    pub rotating: Vec<String>,
}

/// The cards matching `q`'s search and filters, in its order.
pub fn matching<'a>(cards: &'a [CustomerCard], q: &CustomerQuery) -> Vec<&'a CustomerCard> {
    let mut out: Vec<&CustomerCard> = cards
        .iter()
        .filter(|c| q.filters.iter().all(|f| f.keeps(c)))
        .filter(|c| c.matches(&q.search))
        .collect();
    // Lower-cased once per card, not once per comparison.
    let mut keyed: Vec<(String, &CustomerCard)> =
        out.drain(..).map(|c| (c.name.to_lowercase(), c)).collect();
    keyed.sort_by(|(na, a), (nb, b)| {
        let by_name = || na.cmp(nb).then_with(|| a.id.cmp(&b.id));
        match q.sort {
            // `None` sorts after every date: a customer with no credential yet cannot expire.
            CustomerSort::Expiry => match (a.expires_on, b.expires_on) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(by_name),
            CustomerSort::Name => by_name(),
            CustomerSort::Recent => b.updated_at.cmp(&a.updated_at).then_with(by_name),
        }
    });
    keyed.into_iter().map(|(_, c)| c).collect()
}

/// One page of `cards` for `q` (see [`CustomerPage`]).
pub fn page(
    cards: &[CustomerCard],
    unreadable: &[UnreadableProfile],
    q: &CustomerQuery,
) -> CustomerPage {
    let all = matching(cards, q);
    let limit = q.limit.min(MAX_PAGE);
    let count = |f: CustomerFilter| cards.iter().filter(|c| f.keeps(c)).count();
    let practice_id = cards
        .iter()
        .filter(|c| c.sandbox)
        .max_by(|a, b| {
            a.updated_at
                .cmp(&b.updated_at)
                .then_with(|| b.id.cmp(&a.id))
        })
        .map(|c| c.id.clone());
    CustomerPage {
        cards: all
            .iter()
            .skip(q.offset)
            .take(limit)
            .map(|c| (*c).clone())
            .collect(),
        offset: q.offset,
        total: all.len(),
        customers: cards.len(),
        counts: CustomerFilterCounts {
            expiring: count(CustomerFilter::Expiring),
            failing: count(CustomerFilter::Failing),
            unverified: count(CustomerFilter::Unverified),
            sandbox: count(CustomerFilter::Sandbox),
        },
        practice_id,
        unreadable: unreadable.to_vec(),
        rotating: cards
            .iter()
            .filter(|c| c.rotation.is_some())
            .map(|c| {
                if c.name.trim().is_empty() {
                    "an untitled customer".to_string()
                } else {
                    c.name.clone()
                }
            })
            .collect(),
    }
}

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Card(Box<CustomerCard>),
    Unreadable(UnreadableProfile),
}

#[derive(Debug, Default)]
struct Cached {
    /// The day the cards were made for (expiry levels and the plan depend on it).
    today: Option<NaiveDate>,
    /// By file name (sorted: the scan's order, so the result does not depend on the OS).
    files: BTreeMap<String, (Stamp, Entry)>,
    /// The folder's stamp when it was last listed, if it can be trusted to show a change.
    folder: Option<Stamp>,
    /// The cards and unreadable files of `files`, as the queries use them.
    cards: Vec<CustomerCard>,
    unreadable: Vec<UnreadableProfile>,
    /// Profile files read since the cache was made (for tests and the benchmark).
    reads: u64,
}

/// The dashboard's cards, kept between queries (see the module documentation).
#[derive(Debug, Default)]
pub struct CardCache {
    inner: Mutex<Cached>,
}

impl CardCache {
    /// An empty cache: the first query reads every file.
    pub fn new() -> CardCache {
        CardCache::default()
    }

    /// Forgets every card: the next query reads every file again. The app calls it after
    /// its own saves, deletes and imports.
    pub fn invalidate(&self) {
        let mut c = self.lock();
        c.files.clear();
        c.today = None;
        c.folder = None;
    }

    /// Forgets one profile's card (after the app saved or deleted it): only that file is
    /// read again.
    pub fn invalidate_profile(&self, id: &str) {
        let file = format!("{}.json", id.to_ascii_lowercase());
        let mut c = self.lock();
        c.files.remove(&file);
        c.folder = None;
    }

    /// How many profile files the cache has read so far.
    pub fn files_read(&self) -> u64 {
        self.lock().reads
    }

    /// One page of the customer list for `q`, from the cards as of `today`, refreshing only
    /// the files that changed since the last query.
    pub fn page(
        &self,
        store: &ProfileStore,
        today: NaiveDate,
        q: &CustomerQuery,
    ) -> Result<CustomerPage, ProfileError> {
        let mut c = self.lock();
        refresh(&mut c, store.dir(), today)?;
        Ok(page(&c.cards, &c.unreadable, q))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        // A panic elsewhere while holding the lock leaves at worst a stale card, and the
        // next stamp check repairs it: carry on with the data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Brings `c` up to date with the folder: new and changed files are read, gone ones dropped.
fn refresh(c: &mut Cached, dir: &Path, today: NaiveDate) -> Result<(), ProfileError> {
    if c.today != Some(today) {
        c.files.clear();
        c.folder = None;
        c.today = Some(today);
    }
    let folder = fs::metadata(dir).ok().map(|m| Stamp::of(&m));
    if folder.is_some() && c.folder == folder {
        return Ok(());
    }
    // Trusted next time only if the folder's last change is older than a timestamp tick.
    let settled = folder.as_ref().and_then(|s| s.modified).is_some_and(|m| {
        SystemTime::now()
            .duration_since(m)
            .is_ok_and(|age| age > RACY)
    });
    c.folder = folder.filter(|_| settled);
    list_folder(c, dir, today)?;
    c.cards = Vec::with_capacity(c.files.len());
    c.unreadable = Vec::new();
    for (_, entry) in c.files.values() {
        match entry {
            Entry::Card(card) => c.cards.push((**card).clone()),
            Entry::Unreadable(u) => c.unreadable.push(u.clone()),
        }
    }
    Ok(())
}

/// Lists the folder and reads the files whose stamp is new or changed.
fn list_folder(c: &mut Cached, dir: &Path, today: NaiveDate) -> Result<(), ProfileError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            c.files.clear();
            return Ok(());
        }
        Err(e) => {
            return Err(ProfileError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let mut seen = HashSet::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let file = entry.file_name().to_string_lossy().into_owned();
        // A file that vanished between the listing and the stat is simply not listed.
        let Ok(meta) = entry.metadata() else { continue };
        let stamp = Stamp::of(&meta);
        seen.insert(file.clone());
        if c.files.get(&file).is_some_and(|(s, _)| *s == stamp) {
            continue;
        }
        c.reads += 1;
        let e = match read_file(&path) {
            Ok(p) => Entry::Card(Box::new(CustomerCard::of(&p, today))),
            Err(e) => Entry::Unreadable(UnreadableProfile {
                file: file.clone(),
                path: path.display().to_string(),
                code: e.code().to_string(),
                message: e.to_string(),
            }),
        };
        c.files.insert(file, (stamp, e));
    }
    c.files.retain(|f, _| seen.contains(f));
    Ok(())
}

#[cfg(test)]
mod tests;
