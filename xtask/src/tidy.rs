//! Tidy checks: the invariants of ARCHITECTURE.md that a machine can check, run as tests by
//! `cargo test -p xtask` (and so by `cargo xtask test`), in the manner of rust-analyzer's
//! `xtask/src/tidy.rs`.

#[cfg(test)]
mod tests {
    use crate::util::root;
    use std::path::{Path, PathBuf};

    /// Library crates that must not speak HTTP.
    const NO_HTTP: [&str; 5] = [
        "binary-io",
        "chunk-stream",
        "batch-pool",
        "receipt-parse",
        "retry",
    ];

    /// The most lines an app's main.rs may have: an app is dispatch (flags, wiring, output).
    const MAX_APP_MAIN_LINES: usize = 300;

    fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == "node_modules" || name.to_string_lossy().starts_with('.')
            {
                continue;
            }
            if path.is_dir() {
                files_under(&path, ext, out);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }

    fn sources(ext: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for top in ["crates", "apps", "xtask"] {
            files_under(&root().join(top), ext, &mut out);
        }
        out.sort();
        out
    }

    fn relative(path: &Path) -> String {
        path.strip_prefix(root())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// The crate directories under `crates/` and `apps/`.
    fn packages(top: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(top))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        dirs.sort();
        dirs
    }

    /// The names in a manifest's `[dependencies]` table (not dev- or build-dependencies).
    fn dependencies(manifest: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(manifest).unwrap();
        let mut in_deps = false;
        let mut names = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
                continue;
            }
            if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
                let name = name.trim();
                if !name.is_empty() && !name.starts_with('#') {
                    names.push(name.to_string());
                }
            }
        }
        names
    }

    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let missing: Vec<String> = sources("rs")
            .into_iter()
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|p| relative(&p))
            .collect();
        assert!(
            missing.is_empty(),
            "these files do not open with a `//!` line saying what they hold:\n  {}",
            missing.join("\n  ")
        );
    }

    #[test]
    fn crates_without_http_do_not_depend_on_ureq() {
        for name in NO_HTTP {
            let manifest = root().join("crates").join(name).join("Cargo.toml");
            let deps = dependencies(&manifest);
            assert!(
                !deps.iter().any(|d| d == "ureq"),
                "{name} must not speak HTTP, yet {} lists ureq",
                relative(&manifest)
            );
        }
    }

    /// The retry vocabulary comes from `retry`, never from the batch runner; a library may run
    /// batches through batch-pool only from a module named `batch` (safe-download's list
    /// downloads), so no single-transfer code depends on the runner.
    #[test]
    fn libraries_use_the_batch_runner_only_to_run_batches() {
        let mut offenders = Vec::new();
        for path in sources("rs") {
            let rel = relative(&path);
            let in_library = rel.starts_with("crates/") && !rel.starts_with("crates/batch-pool/");
            let batch_module = path.file_name().is_some_and(|n| n == "batch.rs")
                || rel.contains("/batch/")
                || rel.contains("/tests/")
                || rel.contains("/examples/");
            if !in_library || batch_module {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("batch_pool::") {
                    offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "take Retryable, RetryPolicy and Retry-After from the `retry` crate; batch-pool is \
             for running batches (a `batch` module):\n  {}",
            offenders.join("\n  ")
        );
        for dir in packages("crates") {
            let manifest = dir.join("Cargo.toml");
            let has_batch_module = dir.join("src").join("batch.rs").is_file();
            let deps = dependencies(&manifest);
            assert!(
                has_batch_module || !deps.iter().any(|d| d == "batch-pool"),
                "{} depends on batch-pool without running batches",
                relative(&manifest)
            );
        }
    }

    #[test]
    fn only_fw_cli_knows_exit_codes() {
        let mut offenders = Vec::new();
        for path in sources("rs") {
            let rel = relative(&path);
            if rel.starts_with("crates/fw-cli/") || rel.starts_with("xtask/") {
                continue;
            }
            if !rel.starts_with("crates/") || rel.contains("/tests/") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("fn exit_code(") {
                offenders.push(rel);
            }
        }
        assert!(
            offenders.is_empty(),
            "libraries classify failures (`kind()`), only fw-cli maps them to exit codes:\n  {}",
            offenders.join("\n  ")
        );
    }

    #[test]
    fn app_mains_are_dispatch() {
        for dir in packages("apps") {
            let main = dir.join("src").join("main.rs");
            let lines = std::fs::read_to_string(&main).unwrap().lines().count();
            assert!(
                lines <= MAX_APP_MAIN_LINES,
                "{} has {lines} lines (at most {MAX_APP_MAIN_LINES}): what it computes belongs in a crate",
                relative(&main)
            );
        }
    }

    #[test]
    fn nothing_points_outside_the_repository() {
        let mut files = sources("rs");
        files.extend(sources("md"));
        files.extend(sources("toml"));
        for top in [
            "README.md",
            "ARCHITECTURE.md",
            "Cargo.toml",
            "fixtures/README.md",
        ] {
            files.push(root().join(top));
        }
        // Two general rules rather than a list of names: a Markdown file a line names must be
        // one the repository holds (a clone has nothing else), and the folder beside the
        // repository may be named only for its development data, which every reader skips
        // (or, under CI, fails) without.
        let held = markdown_names();
        let mut offenders = Vec::new();
        for path in files {
            // This file spells out the rules, so it names what it looks for.
            if path.ends_with("xtask/src/tidy.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                if names_a_markdown_file_not_held(line, &held)
                    || names_the_sibling_folder_beyond_its_data(line)
                    || points_up_and_out(&path, line)
                {
                    offenders.push(format!("{}:{}: {}", relative(&path), n + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "these lines point at files outside the repository:\n  {}",
            offenders.join("\n  ")
        );
    }

    /// The lower-case names of the Markdown files the repository holds.
    fn markdown_names() -> std::collections::HashSet<String> {
        let mut names: std::collections::HashSet<String> = sources("md")
            .iter()
            .chain(&[root().join("README.md"), root().join("ARCHITECTURE.md")])
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
            .collect();
        names.insert("readme.md".into());
        names
    }

    /// Whether the line names a `NAME.md` that is not among `held`.
    fn names_a_markdown_file_not_held(
        line: &str,
        held: &std::collections::HashSet<String>,
    ) -> bool {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')))
            .filter_map(|token| token.strip_suffix(".md"))
            .filter_map(|stem| stem.rsplit('/').next())
            .filter(|stem| !stem.is_empty())
            .any(|stem| !held.contains(&format!("{}.md", stem.to_lowercase())))
    }

    /// Whether the line names the folder beside the repository for anything but its data.
    fn names_the_sibling_folder_beyond_its_data(line: &str) -> bool {
        line.match_indices("../shared/")
            .any(|(i, m)| !line[i + m.len()..].starts_with("data"))
    }

    /// Whether a Markdown link on this line leads above the repository root.
    fn points_up_and_out(file: &Path, line: &str) -> bool {
        let dir = file.parent().unwrap_or(file);
        line.match_indices("](")
            .filter_map(|(i, _)| line[i + 2..].split(')').next())
            .filter(|target| target.starts_with("../"))
            .any(|target| {
                let depth_here = dir
                    .strip_prefix(root())
                    .map(|p| p.components().count())
                    .unwrap_or(0);
                let ups = target.split('/').take_while(|s| *s == "..").count();
                ups > depth_here
            })
    }
}
