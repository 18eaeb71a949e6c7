//! The `kube-evidence` binary: parses flags, sets up logging, calls the library and maps its
//! errors to exit codes (0 success, 1 error, 2 usage, 3 findings at or above `--fail-on`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
