//! `kube-evidence keygen`: a signing key and its allowed-signers line.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done};
use clap::Args;
use kube_evidence::pack::sign::{AllowedSigner, SigningKey};
use kube_evidence::store::outputs::Output;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key; PATH.pub and PATH.allowed_signers are written beside it
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// The principal in the allowed_signers line (the identity auditors pass to ssh-keygen -I)
    #[arg(long, default_value = "kube-evidence")]
    pub identity: String,
}

pub fn execute(args: KeygenArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let public = PathBuf::from(format!("{}.pub", args.out.display()));
    let signers = PathBuf::from(format!("{}.allowed_signers", args.out.display()));
    let key = SigningKey::generate(&args.identity);
    let line = AllowedSigner::line_for(&args.identity, &key);
    // A private key inside a store would be published with the evidence it signs.
    common::write_outputs(
        &[
            Output::private(&args.out, key.private_openssh().as_bytes()),
            Output::new(&public, format!("{}\n", key.public_openssh())),
            Output::new(&signers, format!("{line}\n")),
        ],
        &[],
    )?;
    outln!(
        "private key:     {} (mode 0600; keep it in a Kubernetes Secret)",
        args.out.display()
    );
    outln!("public key:      {}", public.display());
    outln!(
        "allowed signers: {} (give this to auditors)",
        signers.display()
    );
    outln!("fingerprint:     {}", key.fingerprint());
    Ok(Done::Ok)
}
