//! The checked-in `crates/sesame-awsproto/src/generated/` must equal a fresh generation.

#[test]
fn generated_files_are_up_to_date() {
    let models = sesame_codegen::default_models_dir();
    if !models.join("sesv2.json").exists() {
        println!(
            "NOTICE: {} is absent; skipping the up-to-date check",
            models.display()
        );
        return;
    }
    let out_dir = sesame_codegen::workspace_root().join(sesame_codegen::OUTPUT_DIR);
    for (name, fresh) in sesame_codegen::generate(&models).expect("generate") {
        let on_disk = std::fs::read_to_string(out_dir.join(&name)).unwrap_or_default();
        assert!(
            on_disk == fresh,
            "{name} is stale: run `cargo run -p sesame-codegen` and commit the result"
        );
    }
}
