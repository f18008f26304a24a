//! Basic contract of `Spool`: write/read/exists/remove, id validation, enumeration, locking.

mod common;

use bytes::Bytes;
use common::{body_for, open, open_nosync};
use sesame_spool::{Spool, SpoolOptions};
use std::io::ErrorKind;

#[tokio::test]
async fn write_read_remove_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path());
    let id = "0100018f6e2c-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901-000000";
    assert!(!spool.exists(id).await.unwrap());
    spool.write(id, Bytes::from(body_for(id))).await.unwrap();
    assert!(spool.exists(id).await.unwrap());
    assert_eq!(spool.read(id).await.unwrap(), body_for(id));

    spool.remove(id).await.unwrap();
    assert!(!spool.exists(id).await.unwrap());
    assert_eq!(
        spool.read(id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Idempotent.
    spool.remove(id).await.unwrap();
    spool.remove("never-written").await.unwrap();

    let st = spool.stats();
    assert_eq!(st.bodies_written, 1);
    assert_eq!(st.bytes_written, body_for(id).len() as u64);
}

#[tokio::test]
async fn write_replaces_existing_body() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open_nosync(dir.path());
    spool
        .write("a", Bytes::from_static(b"first version"))
        .await
        .unwrap();
    spool
        .write("a", Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(spool.read("a").await.unwrap(), b"second");
    spool.write("empty", Bytes::new()).await.unwrap();
    assert_eq!(spool.read("empty").await.unwrap(), b"");
}

#[tokio::test]
async fn invalid_ids_are_rejected_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open_nosync(dir.path());
    let bad = [
        "",
        "..",
        "../escape",
        "a/b",
        "/etc/passwd",
        "x.tmp",
        "sp ace",
        "nul\0",
        &"a".repeat(129),
    ];
    for id in bad {
        let e = spool.write(id, Bytes::from_static(b"x")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "write {id:?}");
        assert_eq!(
            spool.read(id).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            spool.exists(id).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            spool.remove(id).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    assert!(!dir.path().join("escape").exists());
    assert_eq!(spool.stats().bodies_written, 0);
    assert_eq!(spool.iter_ids().count(), 0);
}

#[tokio::test]
async fn iter_ids_lists_every_body_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open_nosync(dir.path());
    let mut ids: Vec<String> = (0..300).map(|i| format!("msg-{i:04}")).collect();
    for id in &ids {
        spool.write(id, Bytes::from(body_for(id))).await.unwrap();
    }
    spool.remove("msg-0007").await.unwrap();
    ids.retain(|i| i != "msg-0007");
    // A stray file that is not a valid id is not reported.
    std::fs::write(dir.path().join("bodies/00/.swp"), b"junk").unwrap();
    let mut listed: Vec<String> = spool.iter_ids().collect::<Result<_, _>>().unwrap();
    listed.sort();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = open_nosync(dir.path());
    let e = Spool::open(dir.path(), SpoolOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    drop(first);
    // The lock goes with the last handle.
    open_nosync(dir.path());
}

#[test]
fn zero_max_in_flight_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SpoolOptions {
        max_in_flight: 0,
        ..SpoolOptions::default()
    };
    assert_eq!(
        Spool::open(dir.path(), opts).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}
