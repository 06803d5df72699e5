//! Finding the nats-server binary: shared by the NATS tests and, through a `#[path]`
//! module, by the NATS examples (`examples/common`).

use std::path::PathBuf;
use std::process::Command;

/// The nats-server binary: `NATS_SERVER_BIN`, the scripts' install cache, or
/// `scripts/nats.sh install` (which builds or installs it and says where).
pub fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("NATS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let cache = std::env::var("TICKBRIDGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/tickbridge")
        });
    if let Ok(entries) = std::fs::read_dir(&cache) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("nats-server-"))
            .map(|e| e.path().join("bin/nats-server"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if let Some(p) = found.pop() {
            return p;
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/nats.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("install")
        .output()
        .expect("running scripts/nats.sh install");
    let err = String::from_utf8_lossy(&out.stderr);
    if let Some(path) = err.lines().rev().find_map(|l| l.split(" at ").nth(1)) {
        let p = PathBuf::from(path.trim());
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "no nats-server binary: set NATS_SERVER_BIN, or run scripts/nats.sh install \
         (it said: {err})"
    );
}
