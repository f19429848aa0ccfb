//! The S3-compatible [`Store`]: a log under a prefix of a bucket, through the `object_store`
//! crate (AWS S3, MinIO, Garage, Ceph RGW, R2, …).
//!
//! Durability is the object store's: a PUT that returned is durable, and a reader sees the old
//! object or the new one, never a mix. [`Log`](super::Log) writes in the same order as on a
//! filesystem:
//!
//! 1. the recovery record `.lightcone-pending` (the batch's size range), replaced;
//! 2. every new tile and entry bundle, concurrently, each **created only if absent**
//!    (`If-None-Match: *`, so an immutable object is never replaced: a tile that exists with
//!    the same bytes is left alone, one with other bytes is
//!    [`LogError::ImmutableConflict`]);
//! 3. only when all of them returned, the new checkpoint, replaced.
//!
//! A crash between 2 and 3 leaves the old checkpoint valid; [`Log::open_in`](super::Log)
//! deletes the tiles of that unpublished batch (the recovery record names them), so the next
//! batch can create them anew. Superseded partial tiles are deleted in the background after a
//! checkpoint is published (readers fall back to the full tile, as on a filesystem).
//!
//! **One writer per prefix.** An object store has no `flock`: run one `lightcone log serve`
//! per bucket prefix. Create-only tiles make a second writer fail on its first conflicting
//! tile instead of overwriting the first writer's, but a second writer that starts while the
//! first is mid-batch could delete that batch's tiles as "interrupted"; the rule is the
//! operator's to keep, as it is for any S3-backed log.
//!
//! Configuration is the standard AWS environment: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`),
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for a store other than AWS, and `AWS_ALLOW_HTTP=true`
//! for a plain-HTTP endpoint.

use super::{parse_record, record_bytes, tile_limit, Recovery, Store, PENDING_FILE, RECORD_MAX};
use crate::bounded_file::Refused;
use crate::edge::TileFile;
use crate::error::{LogError, Result};
use crate::tile::{new_tiles, TilePath};
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, PutMode, PutOptions, PutPayload};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most PUTs (or DELETEs) in flight at once.
const CONCURRENCY: usize = 32;

/// A log under `s3://bucket/prefix`.
pub struct S3Store {
    location: PathBuf,
    prefix: String,
    store: Arc<AmazonS3>,
    /// Drives the client; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // Not a plain drop: that panics if the last owner is dropped inside an async context.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// The store at `url` (`s3://bucket[/prefix]`), configured from the standard `AWS_*`
    /// environment variables (see the module documentation).
    pub fn from_env(url: &str) -> Result<S3Store> {
        S3Store::build(url, AmazonS3Builder::from_env())
    }

    /// The store at `url`, configured by `options` only (no environment): `object_store`'s
    /// AWS configuration keys, e.g. `("aws_endpoint", "http://127.0.0.1:9000")`,
    /// `("aws_allow_http", "true")`, `("aws_access_key_id", …)`, `("aws_region", …)`.
    pub fn with_options(url: &str, options: &[(&str, &str)]) -> Result<S3Store> {
        let mut builder = AmazonS3Builder::new();
        for (key, value) in options {
            let key: AmazonS3ConfigKey = key.parse().map_err(|_| LogError::Http {
                url: url.to_owned(),
                reason: format!("unknown object store option {key:?}"),
            })?;
            builder = builder.with_config(key, *value);
        }
        S3Store::build(url, builder)
    }

    fn build(url: &str, builder: AmazonS3Builder) -> Result<S3Store> {
        let (bucket, prefix) = parse_url(url)?;
        let store = builder
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| store_error(Path::new(url), e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("log-s3")
            .enable_all()
            .build()
            .map_err(|e| LogError::io(url, e))?;
        Ok(S3Store {
            location: PathBuf::from(url.trim_end_matches('/')),
            prefix: prefix.to_owned(),
            store: Arc::new(store),
            runtime: Some(runtime),
        })
    }

    /// Runs `f` to completion on the store's runtime.
    fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or(LogError::Internal("the S3 store is shutting down"))?;
        Ok(rt.block_on(f))
    }

    /// The object key of log object `name`.
    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    async fn get(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let path = self.path_of(name);
        let got = self
            .store
            .get(&self.key(name))
            .await
            .map_err(|e| store_error(&path, e))?;
        if got.meta.size > limit {
            return Err(too_large(path, limit));
        }
        let mut out = Vec::new();
        let mut body = got.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| store_error(&path, e))?;
            if (out.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(too_large(path, limit));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    async fn put(&self, name: &str, bytes: &[u8], mode: PutMode) -> object_store::Result<()> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        self.store
            .put_opts(&self.key(name), payload, opts)
            .await
            .map(drop)
    }

    /// Creates tile `tile` with `bytes` unless it exists with the same bytes.
    async fn create_tile(&self, tile: &TilePath, bytes: &[u8]) -> Result<()> {
        let name = tile.to_path_string();
        match self.put(&name, bytes, PutMode::Create).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                if self.get(&name, tile_limit(tile)).await? == bytes {
                    Ok(())
                } else {
                    Err(LogError::ImmutableConflict {
                        path: self.path_of(&name),
                    })
                }
            }
            Err(e) => Err(store_error(&self.path_of(&name), e)),
        }
    }

    /// Deletes the tiles of the unpublished batch `from..to`, naming those that existed.
    async fn delete_batch(&self, from: u64, to: u64, removed: &mut Vec<PathBuf>) -> Result<()> {
        for tile in new_tiles(from, to) {
            let name = tile.to_path_string();
            let key = self.key(&name);
            match self.store.head(&key).await {
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(&self.path_of(&name), e)),
            }
            self.store
                .delete(&key)
                .await
                .map_err(|e| store_error(&self.path_of(&name), e))?;
            removed.push(self.path_of(&name));
        }
        Ok(())
    }
}

impl Store for S3Store {
    fn location(&self) -> &Path {
        &self.location
    }

    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        self.block_on(self.get(name, limit))?
    }

    fn check(&self, name: &str, limit: u64) -> Result<()> {
        let path = self.path_of(name);
        let meta = self
            .block_on(self.store.head(&self.key(name)))?
            .map_err(|e| store_error(&path, e))?;
        if meta.size > limit {
            return Err(too_large(path, limit));
        }
        Ok(())
    }

    fn write_tiles(&self, sizes: Range<u64>, tiles: &[TileFile]) -> Result<()> {
        self.block_on(async {
            self.put(PENDING_FILE, &record_bytes(&sizes), PutMode::Overwrite)
                .await
                .map_err(|e| store_error(&self.path_of(PENDING_FILE), e))?;
            futures::stream::iter(tiles)
                .map(|(tile, bytes)| self.create_tile(tile, bytes))
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<()>>()
                .await
                .map(drop)
        })?
    }

    fn publish_checkpoint(&self, note: &[u8]) -> Result<()> {
        let name = super::CHECKPOINT_FILE;
        self.block_on(self.put(name, note, PutMode::Overwrite))?
            .map_err(|e| store_error(&self.path_of(name), e))
    }

    fn recover(&self, size: u64) -> Result<Recovery> {
        self.block_on(async {
            let mut recovery = Recovery::default();
            let record = match self.get(PENDING_FILE, RECORD_MAX).await {
                Ok(r) => r,
                Err(LogError::MissingFile { .. }) => return Ok(recovery),
                Err(e) => return Err(e),
            };
            let bad = |reason: String| LogError::BadRecoveryRecord {
                path: self.path_of(PENDING_FILE),
                reason,
            };
            let (from, to) = parse_record(&record).map_err(|r| bad(r.to_owned()))?;
            if to > size {
                if from != size {
                    return Err(bad(format!(
                        "interrupted append {from}..{to} does not start at checkpoint size {size}"
                    )));
                }
                self.delete_batch(from, to, &mut recovery.removed).await?;
                recovery.interrupted = Some(from..to);
            }
            self.store
                .delete(&self.key(PENDING_FILE))
                .await
                .map_err(|e| store_error(&self.path_of(PENDING_FILE), e))?;
            Ok(recovery)
        })?
    }

    fn tidy(&self, completed: &[TilePath]) {
        // In the background: the append does not wait for housekeeping.
        let store = self.store.clone();
        let dirs: Vec<ObjectPath> = completed
            .iter()
            .map(|t| self.key(&format!("{}.p", t.to_path_string())))
            .collect();
        let Some(rt) = self.runtime.as_ref() else {
            return;
        };
        rt.spawn(async move {
            for dir in dirs {
                let Ok(list) = store.list_with_delimiter(Some(&dir)).await else {
                    continue;
                };
                let paths = futures::stream::iter(list.objects.into_iter().map(|o| Ok(o.location)));
                let _ = store
                    .delete_stream(paths.boxed())
                    .try_collect::<Vec<_>>()
                    .await;
            }
        });
    }
}

/// Splits `s3://bucket[/prefix]` into the bucket and the prefix (without slashes at its ends).
pub fn parse_url(url: &str) -> Result<(&str, &str)> {
    let bad = |reason: &str| LogError::Http {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("an object store is named s3://bucket[/prefix]"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(bad("the bucket name must be 3-63 of a-z, 0-9, '-' and '.'"));
    }
    let prefix_ok = prefix.split('/').all(|part| {
        prefix.is_empty()
            || (!part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_graphic()))
    });
    if !prefix_ok {
        return Err(bad(
            "the prefix must be printable ASCII parts without empty, '.' or '..' parts",
        ));
    }
    Ok((bucket, prefix))
}

fn too_large(path: PathBuf, limit: u64) -> LogError {
    LogError::Refused {
        path,
        reason: Refused::TooLarge { limit },
    }
}

/// An object store error as a [`LogError`]: a missing object is [`LogError::MissingFile`].
fn store_error(path: &Path, e: object_store::Error) -> LogError {
    match e {
        object_store::Error::NotFound { .. } => LogError::MissingFile {
            path: path.to_path_buf(),
        },
        e => LogError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        assert_eq!(parse_url("s3://logs").unwrap(), ("logs", ""));
        assert_eq!(parse_url("s3://logs/a/b/").unwrap(), ("logs", "a/b"));
        for bad in [
            "logs",
            "http://logs",
            "s3://",
            "s3://UPPER",
            "s3://ab",
            "s3://logs/a//b",
            "s3://logs/../x",
            "s3://logs/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
