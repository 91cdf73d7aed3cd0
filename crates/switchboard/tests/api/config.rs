//! Configuration layers with the real binary: `switchboard.toml`, then `SWITCHBOARD_*`
//! environment, then flags; unknown keys refused.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// `switchboard migrate` run in `cwd`, with a clean environment for Switchboard's variables.
fn migrate_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).arg("migrate").args(args);
    for var in [
        "SWITCHBOARD_DATA_DIR",
        "SWITCHBOARD_DATABASE_URL",
        "SWITCHBOARD_CONFIG",
        "SWITCHBOARD_LISTEN",
        "SWITCHBOARD_SECRET_KEY",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn db_in(dir: &Path) -> bool {
    dir.join("switchboard.db").exists()
}

#[test]
fn the_file_then_the_environment_then_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (from_file, from_env, from_flag) = (
        root.join("file-data"),
        root.join("env-data"),
        root.join("flag-data"),
    );
    std::fs::write(
        root.join("switchboard.toml"),
        format!("data_dir = {:?}\n", from_file.display().to_string()),
    )
    .unwrap();

    let out = migrate_in(root, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        db_in(&from_file),
        "switchboard.toml in the working directory sets data_dir"
    );

    let out = migrate_in(
        root,
        &[],
        &[("SWITCHBOARD_DATA_DIR", from_env.to_str().unwrap())],
    );
    assert!(out.status.success());
    assert!(db_in(&from_env), "the environment overrides the file");

    let out = migrate_in(
        root,
        &["--data-dir", from_flag.to_str().unwrap()],
        &[("SWITCHBOARD_DATA_DIR", from_env.to_str().unwrap())],
    );
    assert!(out.status.success());
    assert!(
        db_in(&from_flag),
        "a flag overrides the environment and the file"
    );
    assert!(
        !db_in(&root.join("switchboard-data")),
        "the built-in default was never used"
    );
}

#[test]
fn an_explicit_config_file_is_used_and_must_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let data = root.join("elsewhere");
    let file = root.join("custom.toml");
    std::fs::write(
        &file,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    let out = migrate_in(root, &["--config", file.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db_in(&data));

    let out = migrate_in(
        root,
        &["--config", root.join("missing.toml").to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("switchboard.toml"), "data_dri = \"x\"\n").unwrap();
    let out = migrate_in(root, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("data_dri") && stderr.contains("switchboard.toml"),
        "{stderr}"
    );
    assert!(
        !db_in(&root.join("switchboard-data")),
        "nothing was created"
    );

    std::fs::write(
        root.join("switchboard.toml"),
        "outbound_max_attempts = \"many\"\n",
    )
    .unwrap();
    let out = migrate_in(root, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
}
