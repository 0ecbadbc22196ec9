//! A real full disk for tests: a small tmpfs mounted for the test and filled up, so SQLite
//! meets ENOSPC from the kernel rather than from a mock. Mounting needs root (as in CI).

use std::path::{Path, PathBuf};

/// Whether this process runs as root (and so can mount).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A tmpfs of a given size, unmounted on drop, even when an assertion fails.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. `"2m"`) at `at`, creating the directory.
    pub fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed");
        SmallDisk(at.to_path_buf())
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system holding `path` by writing that file until the disk refuses.
pub fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    for _ in 0..100_000 {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
            return;
        }
    }
    panic!("the small disk never filled up");
}
