//! A campaign object as someone with write access to the store could leave it: `campaign.json`
//! and its signature (the input split at the first NUL byte), checked as every reader checks it
//! against a key trusted for packs. A campaign accepted must be exactly what that key signed.
use kube_evidence::pack::sign::{AllowedSigner, SigningKey};
use kube_evidence::run::reviews::{CampaignTrust, campaign_of};
use std::sync::OnceLock;

fn key() -> &'static (SigningKey, Vec<AllowedSigner>) {
    static K: OnceLock<(SigningKey, Vec<AllowedSigner>)> = OnceLock::new();
    K.get_or_init(|| {
        let k = SigningKey::generate("fuzz");
        let signers = vec![AllowedSigner::of_key("fuzz", &k)];
        (k, signers)
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let (campaign, signature) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let (k, signers) = key();
    let trust = CampaignTrust {
        signers: Some(signers),
    };
    let key_of = "c/reviews/x/campaign.json";
    // As found: a signature the fuzzer made never passes (it has no trusted key).
    let found = campaign_of("c", key_of, campaign, Some(signature), trust);
    assert!(
        found.is_err(),
        "a campaign passed with a signature nobody trusted made"
    );
    // Signed by the trusted key: accepted only when it says it is where it is.
    let signed = k.sign_in("kube-evidence", campaign).unwrap();
    if let Ok(c) = campaign_of("c", key_of, campaign, Some(&signed), trust) {
        assert_eq!(c.cluster, "c");
        assert_eq!(format!("c/reviews/{}/campaign.json", c.id), key_of);
    }
    let _ = campaign_of("c", key_of, campaign, None, trust);
    let _ = campaign_of(
        "c",
        key_of,
        campaign,
        Some(&signed),
        CampaignTrust { signers: None },
    );
}
