//! Tidy checks that keep the code a model: every Rust file says what it holds in a `//!` first
//! line, no file under `src/` grows past 500 lines, and the page never builds HTML from strings
//! (event data is user input: it is rendered as text).
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

/// Most lines a file under `src/` may have.
const MAX_LINES: usize = 500;

fn files(dir: &Path, extensions: &[&str], into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // Generated code is not ours to tidy.
            if !path.ends_with("pkg") {
                files(&path, extensions, into);
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            into.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_rust_file_starts_with_a_line_saying_what_it_holds() {
    let mut rust = Vec::new();
    files(&root().join("src"), &["rs"], &mut rust);
    files(&root().join("tests"), &["rs"], &mut rust);
    assert!(rust.len() > 20, "found only {} Rust files", rust.len());
    let missing: Vec<String> = rust
        .iter()
        .filter(|path| !read(path).starts_with("//!"))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:?}"
    );
}

#[test]
fn no_file_under_src_is_longer_than_500_lines() {
    let mut rust = Vec::new();
    files(&root().join("src"), &["rs"], &mut rust);
    let long: Vec<String> = rust
        .iter()
        .map(|path| (path, read(path).lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(path, lines)| format!("{} ({lines} lines)", path.display()))
        .collect();
    assert!(long.is_empty(), "split these by concept: {long:?}");
}

#[test]
fn the_page_never_builds_html_from_strings() {
    let mut page = Vec::new();
    files(&root().join("www"), &["js", "mjs", "html"], &mut page);
    assert!(page.len() > 5, "found only {} page files", page.len());
    let forbidden = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
    ];
    let found: Vec<String> = page
        .iter()
        .flat_map(|path| {
            let text = read(path);
            forbidden
                .iter()
                .filter(|word| text.contains(*word))
                .map(|word| format!("{}: {word}", path.display()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        found.is_empty(),
        "render with textContent instead: {found:?}"
    );
}
