//! The TLS crypto provider of the process. Two are linked (aws-lc for the S3 SDK, ring for
//! the API server), so rustls needs to be told which is the default; ring is chosen because
//! aws-lc's random generator seeds itself from CPU jitter, about 40 ms of CPU in every process,
//! which a who-can question answered in 150 ms cannot afford.

/// Installs ring as the process's default provider, unless one is installed already.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
