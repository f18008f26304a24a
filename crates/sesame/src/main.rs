//! `sesame`: the one binary. `serve` starts every role in one process; the other subcommands
//! are operator tools that open the same store (they work while the server runs).
//!
//! This is the composition root: the only place that picks concrete backends.

mod cli;
mod delivery;
mod feedback_backend;
mod instance;
mod outbound;
mod queue_cmd;
mod queue_sweep;
mod serve;
mod smtp_backend;
mod verification;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
