//! Helpers the corpus tests of this crate share: where the capture corpus is, and
//! which recordings it holds.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The corpus directory: `TICKBRIDGE_CAPTURES` (relative paths are taken from the
/// workspace root; default `../shared/captures` from it). A missing corpus fails the
/// test with instructions.
pub fn captures_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = match std::env::var("TICKBRIDGE_CAPTURES") {
        Ok(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Ok(d) => root.join(d),
        Err(_) => root.join("../shared/captures"),
    };
    assert!(
        dir.join("cryptofeed").is_dir(),
        "the capture corpus is missing: set TICKBRIDGE_CAPTURES to the shared/captures \
         directory ({} has no cryptofeed/ folder)",
        dir.display()
    );
    dir
}

/// Every recording of the corpus, relative to it (`cryptofeed/okx.jsonl.gz`), sorted.
pub fn recordings(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for sub in ["cryptofeed", "hftbacktest"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            if name.ends_with(".jsonl.gz") {
                files.push(format!("{sub}/{name}"));
            }
        }
    }
    files.sort();
    files
}
