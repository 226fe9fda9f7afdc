//! A database's incarnation: the id it was given when it was created (in `meta`), checked
//! against its witness on opening, so that a database deleted and made anew behind the store's
//! back is reported instead of opening empty.

use super::layout::{INCARNATION, META};
use super::requests::{self as idb, IdbError};
use super::witness::{self, Witness};
use crate::store::CommitRecord;

/// Checks a database against its witness, under the witness's lock: the database's incarnation
/// id, and the record every read reports when it is not the one the witness names. A new
/// database (or one from before witnesses, or whose witness was cleared) gets an id and a
/// witness naming it.
pub(super) async fn check(
    db: web_sys::IdbDatabase,
    database: String,
) -> Result<(String, Option<CommitRecord>), IdbError> {
    // The witness first: a tab creating the database writes its id before the witness, so a
    // witness read before the id can only name an id that is there by then.
    let witnessed = witness::read(&database).await;
    let incarnation = read_incarnation(&db).await?;
    Ok(match (incarnation, witnessed) {
        (Some(id), Some(seen)) if seen.incarnation == id => (id, None),
        (id, Some(seen)) => (id.unwrap_or_default(), Some(gone_record(&seen))),
        (id, None) => {
            let id = match id {
                Some(id) => id,
                None => create_incarnation(&db, &database).await?,
            };
            let created = Witness {
                incarnation: id.clone(),
                head: None,
            };
            witness::create(&database, &created).await;
            (id, None)
        }
    })
}

/// The record a read reports when the database is not the one the witness names.
fn gone_record(seen: &Witness) -> CommitRecord {
    let acknowledged = seen.head.map(|h| h.position);
    let had = match acknowledged {
        Some(position) => {
            format!("it had acknowledged events up to at least position {position}")
        }
        None => "it existed".into(),
    };
    CommitRecord::Gone {
        acknowledged,
        reason: format!(
            "the store's IndexedDB database was deleted and made anew outside the sandbox ({had}, as its witness in the origin-private file system says): its events are lost. Browsers delete a site's IndexedDB data that they find corrupt, which Chromium does now and then after a crash, and clearing site data deletes it"
        ),
    }
}

/// The database's incarnation id, if it has one.
async fn read_incarnation(db: &web_sys::IdbDatabase) -> Result<Option<String>, IdbError> {
    let tx = idb::transaction(db, &[META], false, "default")?;
    let meta = tx.object_store(META).map_err(IdbError::from_js)?;
    let request = meta.get(&INCARNATION.into()).map_err(IdbError::from_js)?;
    Ok(idb::request(&request).await?.as_string())
}

/// Gives a new database its incarnation id (durably, before any witness names it); if another
/// tab did so first, that id is the one.
async fn create_incarnation(db: &web_sys::IdbDatabase, database: &str) -> Result<String, IdbError> {
    let id = uuid::Uuid::new_v4().to_string();
    let tx = idb::transaction(db, &[META], true, "strict")?;
    let meta = tx.object_store(META).map_err(IdbError::from_js)?;
    meta.add_with_key(&id.as_str().into(), &INCARNATION.into())
        .map_err(IdbError::from_js)?;
    idb::commit_soon(&tx);
    match idb::committed(&tx).await {
        Ok(()) => Ok(id),
        Err(e) if e.name == "ConstraintError" => read_incarnation(db).await?.ok_or_else(|| {
            IdbError::named(
                "UnknownError",
                &format!("{database}: the incarnation id vanished"),
            )
        }),
        Err(e) => Err(e),
    }
}
