//! `kube-evidence share PACK --expires 7d`: presigned links to a pack's files and to the
//! cluster's index, for auditors without bucket credentials.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use clap::Args;
use kube_evidence::pack::{self, index};
use std::time::Duration;

/// SigV4 presigned URLs cannot be valid for longer than this.
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Args, Debug)]
pub struct ShareArgs {
    /// The pack: s3://BUCKET/PREFIX/<cluster>/packs/YYYY/MM/DD/<id>, s3://.../<cluster>/latest.json,
    /// or s3://BUCKET/PREFIX with --cluster for the cluster's latest pack
    pub pack: String,
    /// The cluster, when PACK is a whole store
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// How long the links work: a number followed by d, h or m (at most 7d, the S3 limit)
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub expires: String,
    #[command(flatten)]
    pub trust: common::PackTrustArgs,
    #[command(flatten)]
    pub s3: common::S3Args,
}

/// `7d`, `36h`, `90m`.
pub fn parse_expiry(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 7d, 12h or 30m"))?;
    let seconds = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        _ => return Err(format!("`{text}`: the unit must be d, h or m")),
    };
    let d = Duration::from_secs(seconds);
    if d.is_zero() {
        return Err("the expiry must be longer than zero".into());
    }
    if d > MAX_EXPIRY {
        return Err(format!(
            "`{text}` is longer than S3 allows for a presigned link (7d)"
        ));
    }
    Ok(d)
}

pub fn execute(args: ShareArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    if !args.pack.starts_with("s3://") {
        return Err(Failure::usage(format!(
            "share makes presigned links to objects in a bucket; `{}` is not an s3:// URL",
            args.pack
        )));
    }
    let expires = match parse_expiry(&args.expires) {
        Ok(d) => d,
        Err(m) => {
            return Err(Failure::usage(format!("--expires: {m}")));
        }
    };
    let s3 = common::s3_options(&args.s3)?;
    let trust = args.trust.load()?;
    let clock = common::clock()?;
    let rt = common::runtime();
    let result = rt.block_on(async {
        let (store, prefix) =
            super::verify::resolve(&args.pack, args.cluster.as_deref(), &s3).await?;
        // Links are handed out only to a pack that holds: manifest, signature, every file.
        let stored = pack::read::open_whole(
            store.as_ref(),
            pack::read::Target::At(&prefix),
            trust.policy(),
        )
        .await
        .with_context(|| format!("the pack at {prefix} is not shared"))?;
        let mut names: Vec<String> = stored
            .manifest
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect();
        names.extend(
            stored
                .manifest
                .envelope_files()
                .into_iter()
                .map(str::to_string),
        );
        let mut links = Vec::new();
        let cluster = &stored.manifest.cluster.name;
        let index_key = format!("{cluster}/{}", index::INDEX_HTML);
        if store.exists(&index_key).await? {
            links.push((
                index::INDEX_HTML.to_string(),
                store.share_link(&index_key, expires).await?,
            ));
        }
        for name in names {
            let url = store
                .share_link(&format!("{prefix}/{name}"), expires)
                .await?;
            links.push((name, url));
        }
        anyhow::Ok((stored.manifest.pack_id.clone(), links))
    });
    let (pack_id, links) = result?;
    let until = clock.now() + chrono::Duration::from_std(expires).expect("at most seven days");
    outln!(
        "# pack {pack_id}: links valid until {} ({})",
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        args.expires
    );
    if std::env::var_os("AWS_SESSION_TOKEN").is_some()
        || std::env::var_os("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
    {
        outln!(
            "# these links are signed with temporary credentials and stop working when those expire, which may be sooner"
        );
    }
    outln!(
        "# index.html links to the packs relative to itself: that works for readers with bucket access or a downloaded copy, not through a single presigned link"
    );
    let width = links.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, url) in links {
        outln!("{name:width$}  {url}");
    }
    Ok(Done::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry("7d").unwrap(), MAX_EXPIRY);
        assert_eq!(parse_expiry("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_expiry("30m").unwrap(), Duration::from_secs(1_800));
        assert!(
            parse_expiry("8d")
                .unwrap_err()
                .contains("longer than S3 allows")
        );
        assert!(parse_expiry("0m").is_err());
        assert!(parse_expiry("7w").is_err());
        assert!(parse_expiry("d").is_err());
        assert!(parse_expiry("").is_err());
    }
}
