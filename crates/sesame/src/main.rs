//! `sesame`: the one binary. `serve` starts every role in one process; the other subcommands
//! are operator tools that open the same store (they work while the server runs).
//!
//! This is the composition root: the only place that picks concrete backends.

mod cli;
mod delivery;
mod dkim_rotation;
mod dns_cmd;
mod dns_zone;
mod feedback_backend;
mod inflow;
mod instance;
mod managed_pools;
mod notices;
mod outbound;
mod queue_cmd;
mod queue_sweep;
mod reputation;
mod serve;
mod sinks_cmd;
mod smtp_backend;
mod sns_cmd;
mod verification;

use clap::Parser;

/// See Cargo.toml: glibc malloc was a measured hot spot under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        // A command that chose its exit status (`dns check`) has printed its own message.
        Err(e) if e.downcast_ref::<dns_cmd::Exit>().is_some() => {
            std::process::ExitCode::from(e.downcast_ref::<dns_cmd::Exit>().map_or(1, |x| x.0))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
