//! `cargo run -p sesame-codegen [MODELS_DIR]`: regenerates `crates/sesame-awsproto/src/generated/`.

fn main() -> anyhow::Result<()> {
    let root = sesame_codegen::workspace_root();
    let models = match std::env::args().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => sesame_codegen::default_models_dir(),
    };
    let out_dir = root.join(sesame_codegen::OUTPUT_DIR);
    std::fs::create_dir_all(&out_dir)?;
    for (name, text) in sesame_codegen::generate(&models)? {
        std::fs::write(out_dir.join(&name), text)?;
        println!("wrote {}", out_dir.join(&name).display());
    }
    Ok(())
}
