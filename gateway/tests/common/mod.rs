//! What the gateway's QEMU-backed tests share: a pristine blank disk and the catalog item
//! that boots the test guest from it.

use std::path::Path;

/// Creates `dir/blank.qcow2`, the pristine image instances overlay.
pub fn blank_disk(dir: &Path) {
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.join("blank.qcow2"))
        .arg("64M")
        .status()
        .expect("qemu-img (package qemu-utils) must be installed");
    assert!(st.success());
}

/// The `[[item]]` "guest": the test guest on std VGA, booted from its kernel and initrd.
pub fn guest_item() -> String {
    let g = olive_tests::ensure_guest().expect("test guest");
    format!(
        r#"
[[item]]
id = "guest"
title = "Test guest"
creator = "Olive"
year = 2024
[item.machine]
disk = "blank.qcow2"
memory_mb = 256
display = "std"
tablet = false
kernel = "{}"
initrd = "{}"
append = "{}"
"#,
        g.kernel.display(),
        g.initrd.display(),
        olive_tests::qemu::KERNEL_CMDLINE
    )
}
