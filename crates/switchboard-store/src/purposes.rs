//! The purposes a case may have: the five built-in ones and the custom ones a workspace
//! registers (through the API, or by applying a playbook that declares them).

use crate::journal::{audit, bad};
use crate::sql::Conn;
use crate::{Actor, Store, StoreError, params};
use serde::Serialize;
use switchboard_core::playbook::PurposeDecl;
use switchboard_core::{Purpose, Timestamp};

/// A purpose as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurposeInfo {
    pub id: Purpose,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub built_in: bool,
}

fn built_in_name(p: &str) -> &'static str {
    match p {
        "tier1" => "Tier 1",
        "support" => "Customer support",
        "sales" => "Sales",
        "marketing_pr" => "Marketing & PR",
        _ => "Crisis",
    }
}

/// The custom purposes registered in the workspace.
pub(crate) fn registered(c: &mut dyn Conn) -> Result<Vec<Purpose>, StoreError> {
    c.query("SELECT slug FROM purposes ORDER BY slug", &[])?
        .iter()
        .map(|r| Purpose::parse(&r.text(0)?).map_err(bad))
        .collect()
}

/// Refuses a purpose that is neither built in nor registered.
pub(crate) fn ensure_known(c: &mut dyn Conn, p: &Purpose) -> Result<(), StoreError> {
    if p.is_built_in()
        || c.query_opt(
            "SELECT 1 FROM purposes WHERE slug = $1",
            params![p.as_str()],
        )?
        .is_some()
    {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "unknown purpose {:?}: register it first (POST /api/v1/purposes or [[purpose]] in the playbook)",
            p.as_str()
        )))
    }
}

/// Registers or renames a playbook's declared purpose. Returns whether it was new.
pub(crate) fn upsert(
    c: &mut dyn Conn,
    decl: &PurposeDecl,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let name = decl
        .name
        .clone()
        .unwrap_or_else(|| decl.id.as_str().to_owned());
    let existed = c
        .query_opt(
            "SELECT 1 FROM purposes WHERE slug = $1",
            params![decl.id.as_str()],
        )?
        .is_some();
    c.execute(
        "INSERT INTO purposes (slug, name, description, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (slug) DO UPDATE SET name = excluded.name, description = excluded.description",
        params![
            decl.id.as_str(),
            name,
            decl.description.clone(),
            now.as_unix_micros()
        ],
    )?;
    Ok(!existed)
}

impl Store {
    /// Every purpose: the built-in ones first, then the registered ones by id.
    pub async fn purposes(&self) -> Result<Vec<PurposeInfo>, StoreError> {
        self.pool
            .read(|c| {
                let mut out: Vec<PurposeInfo> = Purpose::BUILT_IN
                    .iter()
                    .map(|p| {
                        Ok(PurposeInfo {
                            id: Purpose::parse(p).map_err(bad)?,
                            name: built_in_name(p).to_owned(),
                            description: None,
                            built_in: true,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?;
                for r in c.query(
                    "SELECT slug, name, description FROM purposes ORDER BY slug",
                    &[],
                )? {
                    out.push(PurposeInfo {
                        id: Purpose::parse(&r.text(0)?).map_err(bad)?,
                        name: r.text(1)?,
                        description: r.opt_text(2)?,
                        built_in: false,
                    });
                }
                Ok(out)
            })
            .await
    }

    /// Registers a custom purpose. A built-in or taken id is a conflict.
    pub async fn add_purpose(
        &self,
        decl: PurposeDecl,
        actor: Actor,
        now: Timestamp,
    ) -> Result<PurposeInfo, StoreError> {
        self.pool
            .write(move |c| {
                if decl.id.is_built_in() {
                    return Err(StoreError::Conflict(format!(
                        "{:?} is a built-in purpose",
                        decl.id.as_str()
                    )));
                }
                if c.query_opt(
                    "SELECT 1 FROM purposes WHERE slug = $1",
                    params![decl.id.as_str()],
                )?
                .is_some()
                {
                    return Err(StoreError::Conflict(format!(
                        "the purpose {:?} exists already",
                        decl.id.as_str()
                    )));
                }
                upsert(c, &decl, now)?;
                audit(
                    c,
                    &actor,
                    "purpose.created",
                    ("purpose", decl.id.as_str().to_owned()),
                    serde_json::json!({"name": decl.name, "description": decl.description}),
                    now,
                )?;
                Ok(PurposeInfo {
                    name: decl.name.clone().unwrap_or_else(|| decl.id.to_string()),
                    id: decl.id,
                    description: decl.description,
                    built_in: false,
                })
            })
            .await
    }
}
