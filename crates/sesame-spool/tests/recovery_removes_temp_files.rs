//! Recovery at open: leftover temp files (writes that never reached their rename, so were
//! never acknowledged) are deleted; committed bodies are counted and kept.

mod common;

use bytes::Bytes;
use common::{body_for, open};

#[tokio::test]
async fn recovery_removes_temp_files_and_counts_bodies() {
    let dir = tempfile::tempdir().unwrap();
    {
        let spool = open(dir.path());
        for id in ["kept-1", "kept-2", "kept-3"] {
            spool.write(id, Bytes::from(body_for(id))).await.unwrap();
        }
        let st = spool.stats();
        assert_eq!((st.recovered_bodies, st.removed_temp_files), (0, 0));
    }
    // What a crash between "create temp" and "rename" leaves behind.
    let tmp = dir.path().join("tmp");
    for i in 0..5 {
        std::fs::write(tmp.join(format!("lost-{i}.{i}.tmp")), b"partial bo").unwrap();
    }

    let spool = open(dir.path());
    let st = spool.stats();
    assert_eq!(st.removed_temp_files, 5);
    assert_eq!(st.recovered_bodies, 3);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    for id in ["kept-1", "kept-2", "kept-3"] {
        assert_eq!(spool.read(id).await.unwrap(), body_for(id));
    }
    for i in 0..5 {
        assert!(!spool.exists(&format!("lost-{i}")).await.unwrap());
    }
}
