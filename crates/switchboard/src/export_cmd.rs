//! `switchboard export` and `switchboard import`: the whole workspace as JSON Lines, to keep it
//! or to move it between SQLite and PostgreSQL (the format: `switchboard-store`'s
//! `export.rs`).

use crate::StoreArgs;
use anyhow::Context;
use clap::Args;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use switchboard_server::crypto::SecretBox;
use switchboard_store::{Store, TransferSummary};

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Write the export to this file instead of standard output. It appears only once complete
    /// (written as FILE.partial, then renamed).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The file `switchboard export` wrote; `-` reads standard input.
    #[arg(long)]
    file: PathBuf,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = args.store.open_existing().await?;
    let started = std::time::Instant::now();
    let summary = match &args.out {
        None => {
            let out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            store.export_data(Box::new(out), crate::now()).await?
        }
        Some(path) => to_file(&store, path).await?,
    };
    eprintln!(
        "exported {} in {:.1} s: {}",
        rows(summary.rows),
        started.elapsed().as_secs_f64(),
        per_table(&summary)
    );
    Ok(())
}

/// Exports into `path.partial`, made durable, then renamed to `path`: a file under the asked
/// name is always complete.
async fn to_file(store: &Store, path: &Path) -> anyhow::Result<TransferSummary> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let result = store
        .export_data(
            Box::new(BufWriter::with_capacity(1 << 20, file)),
            crate::now(),
        )
        .await
        .map_err(anyhow::Error::from)
        .and_then(|summary| {
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&partial, path))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(summary)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    // The file first: a mistyped name must not leave a new empty database behind.
    let input: Box<dyn std::io::BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let store = args.store.open().await?;
    let started = std::time::Instant::now();
    let summary = store.import_data(input).await.with_context(|| {
        format!(
            "nothing was imported from {}",
            if args.file.as_os_str() == "-" {
                "standard input".to_owned()
            } else {
                args.file.display().to_string()
            }
        )
    })?;
    eprintln!(
        "imported {} in {:.1} s: {}",
        rows(summary.rows),
        started.elapsed().as_secs_f64(),
        per_table(&summary)
    );
    warn_about_the_key(&store, &args.store).await
}

/// Channel secrets arrive sealed with the source's key: says so when the key this data
/// directory (or SWITCHBOARD_SECRET_KEY) has cannot open them, or when there is none yet. Never
/// creates a key: `switchboard serve` would then refuse to start with the wrong one.
async fn warn_about_the_key(store: &Store, args: &StoreArgs) -> anyhow::Result<()> {
    let channels = store.list_channels().await?;
    if channels.is_empty() {
        return Ok(());
    }
    let file = args.data_dir.join("secret.key");
    let (key, source) = match std::env::var("SWITCHBOARD_SECRET_KEY") {
        Ok(hex_key) => (Some(hex_key), "SWITCHBOARD_SECRET_KEY".to_owned()),
        Err(_) => (
            std::fs::read_to_string(&file).ok(),
            file.display().to_string(),
        ),
    };
    let Some(key) = key else {
        eprintln!(
            "warning: the {} channel secret(s) imported are sealed with the source's secret key, \
             and there is no key at {source}: copy the source's secret.key there (or set \
             SWITCHBOARD_SECRET_KEY to it) before `switchboard serve`",
            channels.len()
        );
        return Ok(());
    };
    let secrets = hex::decode(key.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(SecretBox::from_key);
    let unopened = channels
        .iter()
        .filter(|ch| {
            secrets
                .as_ref()
                .is_none_or(|s| s.open(&ch.secret_sealed).is_none())
        })
        .count();
    if unopened > 0 {
        eprintln!(
            "warning: the secret key ({source}) does not open {unopened} of the {} channel \
             secret(s) imported: use the source's secret.key (or SWITCHBOARD_SECRET_KEY) here, \
             or `switchboard serve` will refuse to start",
            channels.len()
        );
    }
    Ok(())
}

fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

/// `cases 12, messages 40, …`: the tables that have rows.
fn per_table(summary: &TransferSummary) -> String {
    let with_rows: Vec<String> = summary
        .tables
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if with_rows.is_empty() {
        "no rows".into()
    } else {
        with_rows.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_tables_with_rows() {
        let summary = TransferSummary {
            tables: vec![
                ("cases".into(), 2),
                ("teams".into(), 0),
                ("users".into(), 1),
            ],
            rows: 3,
        };
        assert_eq!(per_table(&summary), "cases 2, users 1");
        assert_eq!(per_table(&TransferSummary::default()), "no rows");
        assert_eq!(rows(1), "1 row");
    }
}
