//! Counted nouns for what the admin reads: "1 tenant", "2 tenants", never "tenant(s)".
//! The UI has the same rule (`countOf` in `ui/src/lib/format.ts`).
//!
//! Deliberately English-only and regular: every noun the tool counts takes an "s".

/// `n` and the noun, plural unless `n` is 1: `count_of(3, "tenant")` is "3 tenants".
pub fn count_of(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// [`count_of`] for a `usize` (a length).
pub fn count_len(n: usize, noun: &str) -> String {
    count_of(u64::try_from(n).unwrap_or(u64::MAX), noun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count_of(1u32, "tenant"), "1 tenant");
        assert_eq!(count_of(0u32, "tenant"), "0 tenants");
        assert_eq!(count_of(2u32, "error"), "2 errors");
        assert_eq!(count_len(1000, "customer"), "1000 customers");
        assert_eq!(count_len(1, "stray request"), "1 stray request");
    }
}
