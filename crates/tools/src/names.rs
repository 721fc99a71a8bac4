//! Function names the Live API accepts, unique within a session.

use std::collections::HashSet;

/// The longest function name the Live API accepts.
pub const MAX_NAME_LEN: usize = 64;

/// `name` made into a valid Live function name: characters other than `a-z A-Z 0-9 _ : . -` become
/// `_`, a name that does not start with a letter or `_` gets a leading `_`, and it is cut to 64
/// characters.
///
/// ```
/// use gemlive_tools::live_name;
///
/// assert_eq!(live_name("get-sum"), "get-sum");
/// assert_eq!(live_name("files/read text"), "files_read_text");
/// assert_eq!(live_name("3d"), "_3d");
/// ```
pub fn live_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out.truncate(MAX_NAME_LEN);
    out
}

/// Hands out unique valid names.
#[derive(Debug, Default)]
pub(crate) struct Names {
    used: HashSet<String>,
}

impl Names {
    /// Marks a name as taken (declarations already in the setup).
    pub(crate) fn reserve(&mut self, name: &str) {
        self.used.insert(name.to_owned());
    }

    /// A unique name for `wanted`: itself when free, else `prefix_wanted` (an MCP server's name),
    /// else with a number appended.
    pub(crate) fn claim(&mut self, wanted: &str, prefix: Option<&str>) -> String {
        let base = live_name(wanted);
        let mut candidates = vec![base.clone()];
        if let Some(prefix) = prefix {
            candidates.push(live_name(&format!("{prefix}_{wanted}")));
        }
        if let Some(free) = candidates.into_iter().find(|c| !self.used.contains(c)) {
            self.used.insert(free.clone());
            return free;
        }
        let mut n = 2;
        loop {
            let suffix = format!("_{n}");
            let mut name = base.clone();
            name.truncate(MAX_NAME_LEN - suffix.len());
            name.push_str(&suffix);
            if self.used.insert(name.clone()) {
                return name;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        let long = "x".repeat(80);
        assert_eq!(live_name(&long).len(), 64);
        assert_eq!(live_name(""), "_");
        assert_eq!(live_name("Übersetzen"), "_bersetzen");
        let mut names = Names::default();
        names.reserve("echo");
        assert_eq!(names.claim("echo", Some("everything")), "everything_echo");
        assert_eq!(names.claim("echo", Some("everything")), "echo_2");
        assert_eq!(names.claim("echo", None), "echo_3");
        let a = names.claim(&long, None);
        let b = names.claim(&long, None);
        assert_eq!((a.len(), b.len()), (64, 64));
        assert!(b.ends_with("_2"));
    }
}
