//! The three verdicts a claim can get.

/// A claim's verdict, in bold as the report writes it: it holds where `all` of what it says
/// does, holds in part where `some` of it does, and does not hold here otherwise.
pub(crate) fn verdict(all: bool, some: bool) -> &'static str {
    if all {
        "**holds**"
    } else if some {
        "**holds in part**"
    } else {
        "**does not hold here**"
    }
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn all_holds_some_holds_in_part_none_does_not() {
        assert_eq!(verdict(true, true), "**holds**");
        assert_eq!(verdict(false, true), "**holds in part**");
        assert_eq!(verdict(false, false), "**does not hold here**");
    }
}
