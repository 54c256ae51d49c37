//! `capstone probe URL`: one HTTP GET, for health checks that should not depend on another
//! image having curl or a shell (docker compose's healthchecks run it inside our own image).
//! Exit 0 on a 2xx answer; 1 on any other answer, a connection error or a timeout, with the
//! reason on stderr; 2 on a usage error (clap's).

use clap::Args;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The URL to GET, e.g. http://127.0.0.1:8080/healthz.
    pub url: String,
    /// How long to wait for the answer.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

pub async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(args.timeout).build()?;
    let answer = client
        .get(&args.url)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("GET {}: no answer within {:?}: {error}", args.url, args.timeout))?;
    let status = answer.status();
    anyhow::ensure!(status.is_success(), "GET {} answered {status}", args.url);
    Ok(())
}
