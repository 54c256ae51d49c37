//! Local secrets in files: the payload keys and the workers' api key default to files under
//! `.data/` that the first process to need them creates, readable by their owner only, so
//! that every process on one machine agrees without anything to configure. Elsewhere they
//! come from the environment (a Kubernetes Secret, say) and these files are never written.

use anyhow::Context;
use std::{io::Write, os::unix::fs::OpenOptionsExt, path::Path};

/// The file's text; when it does not exist, first writes `comment` and `generate()` to it.
/// `create_new` makes two processes that start together agree: the second one reads the
/// first one's file.
pub fn read_or_create(
    file: &Path,
    comment: &str,
    generate: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    match std::fs::read_to_string(file) {
        Ok(text) => return Ok(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("reading {}", file.display())),
    }
    if let Some(folder) = file.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    let secret = generate()?;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
        Ok(mut handle) => {
            writeln!(handle, "# {comment}")?;
            writeln!(handle, "{secret}")?;
            tracing::info!(file = %file.display(), "created a new secret ({comment})");
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error).with_context(|| format!("creating {}", file.display())),
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

/// The first line that is not a comment.
pub fn first_value(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_missing_secret_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/secret");
        let first = read_or_create(&file, "test", || Ok("one".into())).unwrap();
        let again = read_or_create(&file, "test", || Ok("two".into())).unwrap();
        assert_eq!(first_value(&first), Some("one"));
        assert_eq!(first, again);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
