//! What `capstone dev` prints once everything runs: what is where.

use super::DevArgs;
use crate::shop::Shop;

pub struct Banner<'a> {
    pub args: &'a DevArgs,
    pub shop: &'a Shop,
    pub temporal: &'a crate::temporal::TemporalConnection,
    pub ui_url: &'a str,
    pub server_pid: Option<u32>,
    pub keys: &'a super::DemoKeys,
    /// Whether the Web UI was started with our codec endpoint.
    pub ui_codec: bool,
    pub versioning: &'a crate::workers::Versioning,
    pub mail: &'a super::Mail<'a>,
}

pub fn print(banner: &Banner<'_>) {
    let Banner { args, shop, temporal, ui_url, server_pid, keys, ui_codec, versioning, mail } = banner;
    let origin = match server_pid {
        Some(pid) => format!("started by capstone dev, pid {pid}; state in {}", args.temporal_db_file.display()),
        None => "already running; not managed by capstone dev".to_owned(),
    };
    println!();
    println!("capstone dev is running. Ctrl-C stops everything.");
    println!("  Temporal gRPC      {}   ({origin})", temporal.address);
    println!("  Temporal Web UI    {ui_url}/namespaces/{}/workflows", temporal.namespace);
    for service in shop.services() {
        println!("  {:<18} {}", service.name, service.url());
    }
    println!("  database           {}", crate::db::redact(&args.database.database_url));
    match (&mail.smtp, mail.catcher) {
        (Some(smtp), Some(catcher)) => println!(
            "  e-mail (SMTP)      {}   (mail catcher, pid {}; each e-mail a file in {})",
            smtp.url,
            catcher.pid().unwrap_or_default(),
            catcher.maildir.join("new").display()
        ),
        (Some(smtp), None) => println!("  e-mail (SMTP)      {}   (SMTP_URL)", smtp.url),
        (None, _) => println!("  e-mail (SMTP)      none: e-mails stay queued in the outbox (GET /emails)"),
    }
    let queues = args.task_queues.queues();
    println!(
        "  task queues        workflows: {}   activities: {}   payments: {}   subscriptions: {}",
        queues.workflows, queues.activities, queues.payments, queues.subscriptions
    );
    if versioning.enabled {
        println!(
            "  worker versioning  deployment {}, build {}: orders pinned, subscriptions auto-upgrade",
            versioning.deployment_name, versioning.build_id
        );
    } else {
        println!("  worker versioning  off (WORKER_VERSIONING=false)");
    }
    if args.schedules.schedules {
        println!(
            "  schedules          {} every {}, {} daily 03:00 UTC, {} daily 00:05 UTC (Web UI: Schedules)",
            crate::temporal::schedules::RECONCILE,
            humantime::format_duration(args.schedules.reconcile_every),
            crate::temporal::schedules::RETENTION,
            crate::temporal::schedules::DAILY_REPORT
        );
    }
    if !args.region_routes.region_routes.is_empty() {
        let routes: Vec<String> =
            args.region_routes.region_routes.iter().map(|(country, region)| format!("{country}={region}")).collect();
        println!("  region routes      {} (each region's queues are served here too)", routes.join(", "));
    }
    println!(
        "  subscriptions      period {}, trial day {}, dunning {:?}, {} renewals per run",
        humantime::format_duration(args.subscriptions.subscription_period),
        humantime::format_duration(args.subscriptions.subscription_trial_day),
        args.subscriptions
            .dunning_delays
            .iter()
            .map(|d| humantime::format_duration(*d).to_string())
            .collect::<Vec<_>>(),
        args.subscriptions.renewals_per_run
    );
    println!(
        "  approval           orders above {} cents wait up to {} for: {}",
        args.approval.approval_threshold_cents,
        humantime::format_duration(args.approval.approval_timeout),
        args.approval.operators.join(", ")
    );
    println!();
    println!("Demo API keys (new at every start; `capstone create-api-key` makes lasting ones):");
    let operator = args.approval.operators.first().map(String::as_str).unwrap_or("?");
    println!("  operator {operator:<9} {}", keys.operator);
    println!("  customer {:<9} {}", keys.customer_id, keys.customer);
    if args.service_key.service_key.is_some() {
        println!("  service key        from SERVICE_KEY (the backend services need it)");
    } else {
        let file = args.service_key.service_key_file.display();
        println!(
            "  service key        in {file} (the backend services need it: export SERVICE_KEY=$(grep -v '^#' {file}))"
        );
    }
    if *ui_codec {
        println!("  The Web UI decrypts payloads through {}/codec/k/<operator key>/decode.", shop.api.url());
    } else {
        println!("  Web UI codec setting: {}", keys.codec_endpoint(args));
    }
    println!();
    println!("Web console (signed in with the operator key; the key stays in the URL fragment, never sent):");
    println!("  {}/#key={}", shop.api.url(), keys.operator);
    println!();
    println!("Place an order:");
    println!(
        "  curl -s -X POST {}/orders -H \"Authorization: Bearer {}\" -H 'content-type: application/json' -d @docs/examples/order.json",
        shop.api.url(),
        keys.customer
    );
    println!();
}
