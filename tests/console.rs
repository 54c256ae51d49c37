//! The web console (docs/day-13.md), driven by a real headless Chromium through chromedriver:
//! place a large order in the page, approve it as an operator, watch it complete. Then the
//! outcome is checked where it lives: the read model, the ledger and the workflow on the server.
//! A screenshot of the finished order is saved (its path is printed).

use crate::support;
use capstone_workflows::order::{ApprovalState, OrderStatus, order_workflow_id};
use capstone_workflows::shipment::JourneyStep;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::Duration,
};
use support::{PATIENCE, TestShop};
use temporalio_client::WorkflowExecutionStatus;

/// chromedriver on a free loopback port; killed with the test.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    /// Kills chromedriver's whole process group: the Chromium it started too, even when the
    /// test panicked before closing the session.
    fn drop(&mut self) {
        // SAFETY: a plain syscall on the group of our own child.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// `None` (the test skips) when Chromium or chromedriver is missing, except in CI, where
/// `make setup` installs them and their absence is a failure.
fn chromedriver_installed() -> bool {
    let runs = |program: &str| Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    let found = runs("chromedriver") && runs("chromium");
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium and chromedriver: scripts/setup.sh installs them"
        );
        eprintln!("skipped: chromium/chromedriver not installed (apt-get install chromium chromium-driver)");
    }
    found
}

async fn start_chromedriver() -> ChromeDriver {
    let [port] = capstone_processes::free_ports_where_zero("127.0.0.1", [0]).unwrap();
    let child = Command::new("chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".to_owned()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reqwest::get(format!("{}/status", driver.url)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn open_browser(driver: &ChromeDriver, profile: &std::path::Path) -> Browser {
    // Flags that run Chromium headless in a container, as root, without a GPU or /dev/shm.
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1100",
        &format!("--user-data-dir={}", profile.display()),
    ];
    // chromedriver finds the browser itself (Debian's `chromium` on PATH).
    let capabilities = json!({ "goog:chromeOptions": { "args": args } });
    let Value::Object(capabilities) = capabilities else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// A headless Chromium for one test. Fields drop in order: the session, its profile, then
/// chromedriver (and with it the browser's whole process group).
struct Console {
    browser: Browser,
    _profile: tempfile::TempDir,
    _driver: ChromeDriver,
}

impl Console {
    async fn start() -> Self {
        let driver = start_chromedriver().await;
        let profile = tempfile::tempdir().unwrap();
        let browser = open_browser(&driver, profile.path()).await;
        Self { browser, _profile: profile, _driver: driver }
    }

    /// Opens the console with the operator key and waits for `ready`. The key travels in the
    /// fragment, as `capstone dev` prints it: never sent to the server.
    async fn open(&self, shop: &TestShop, ready: &str) {
        self.browser.goto(&format!("{}/#key={}", shop.api_url(), shop.operator_key)).await.unwrap();
        self.browser.wait().at_most(PATIENCE).for_element(Locator::Css(ready)).await.unwrap();
    }
}

/// The text of `css`, asked again when the page redrew the element between finding it and
/// reading it (the detail is redrawn at every poll).
async fn text_of(browser: &Browser, css: &str) -> String {
    for _ in 0..20 {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} could not be read");
}

/// Waits until the order detail shows `status` (the page polls the api every second).
async fn wait_for_detail_status(browser: &Browser, status: &str) {
    let selector = format!("#detail-status[data-status='{status}']");
    if let Err(error) = browser.wait().at_most(PATIENCE).for_element(Locator::Css(&selector)).await {
        let shown = browser.find(Locator::Css("#detail-status")).await.ok();
        let shown = match shown {
            Some(element) => element.text().await.unwrap_or_default(),
            None => "no order shown".to_owned(),
        };
        let message = browser.find(Locator::Css("#message")).await.unwrap().text().await.unwrap_or_default();
        panic!("the console never showed {status} (shows {shown:?}, message {message:?}): {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_places_approves_and_sees_a_large_order_complete_in_the_console() {
    if !chromedriver_installed() {
        return;
    }
    let shop = TestShop::start().await;
    let console = Console::start().await;
    let browser = &console.browser;

    shop.with_workers(|| async {
        console.open(&shop, "#order-lines select option").await;
        assert_eq!(browser.find(Locator::Css("#key-state")).await.unwrap().text().await.unwrap(), "key set");

        // 3 monitors at 349.00: above the 1000.00 threshold, so an operator must decide.
        let line = browser.find(Locator::Css("#order-lines .line")).await.unwrap();
        line.find(Locator::Css("select[name=sku]")).await.unwrap().select_by_value("MN-003").await.unwrap();
        let qty = line.find(Locator::Css("input[name=qty]")).await.unwrap();
        qty.clear().await.unwrap();
        qty.send_keys("3").await.unwrap();
        let total = browser.find(Locator::Css("#order-total")).await.unwrap().text().await.unwrap();
        assert_eq!(total, "1047.00, needs an operator");
        browser.find(Locator::Css("#place-order")).await.unwrap().click().await.unwrap();

        wait_for_detail_status(browser, OrderStatus::AwaitingApproval.as_str()).await;
        let order_id = browser.find(Locator::Css("#detail-id")).await.unwrap().text().await.unwrap();
        let ui_link = browser.find(Locator::Css("#detail-ui")).await.unwrap().attr("href").await.unwrap();
        assert_eq!(
            ui_link.as_deref(),
            Some(
                format!("http://127.0.0.1:8233/namespaces/default/workflows/{}", order_workflow_id(&order_id)).as_str()
            )
        );

        browser.find(Locator::Css("#order-approve")).await.unwrap().click().await.unwrap();
        wait_for_detail_status(browser, OrderStatus::Completed.as_str()).await;
        // The list shows it too, and the timeline has the saga's steps.
        let row = format!("tr[data-order='{order_id}'] [data-status='COMPLETED']");
        browser.wait().at_most(PATIENCE).for_element(Locator::Css(&row)).await.unwrap();
        let timeline = browser.find(Locator::Css("#detail-timeline")).await.unwrap().text().await.unwrap();
        use OrderStatus::{AwaitingApproval, ChargingPayment, Completed, Shipping};
        for step in [AwaitingApproval, ChargingPayment, Shipping, Completed].map(OrderStatus::as_str) {
            assert!(timeline.contains(step), "the timeline lacks {step}: {timeline}");
        }

        let screenshot = browser.screenshot().await.unwrap();
        assert!(screenshot.starts_with(b"\x89PNG") && screenshot.len() > 10_000, "not a real screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-order-completed.png");
        std::fs::write(&path, &screenshot).unwrap();
        println!("screenshot: {}", path.display());

        // What the clicks did, where it lives.
        let order = shop.wait_until_final(&order_id).await;
        assert_eq!(order.status, OrderStatus::Completed);
        assert_eq!(order.approval.as_ref().unwrap().state, ApprovalState::Approved);
        assert_eq!(
            order.approval.as_ref().unwrap().operator.as_deref(),
            Some("alice"),
            "the console's operator field defaults to the first operator"
        );
        assert_eq!(order.total_cents, 104_700);
        assert_eq!(shop.ledger(&order_id).await, vec![("charge".to_owned(), 104_700)]);
        assert_eq!(shop.workflow_status(&order_workflow_id(&order_id)).await, Some(WorkflowExecutionStatus::Completed));

        // A small order to a country the carrier refuses: charged, then refunded. The console
        // shows the compensation, and the ledger has both entries.
        qty.clear().await.unwrap();
        qty.send_keys("1").await.unwrap();
        let country = browser.find(Locator::Css("#order-form input[name=country]")).await.unwrap();
        country.clear().await.unwrap();
        country.send_keys("AQ").await.unwrap();
        browser.find(Locator::Css("#place-order")).await.unwrap().click().await.unwrap();
        let shown_first = format!("#detail-id:not([data-order='{order_id}'])");
        browser.wait().at_most(PATIENCE).for_element(Locator::Css(&shown_first)).await.unwrap();
        wait_for_detail_status(browser, OrderStatus::Compensated.as_str()).await;
        let refunded_id = text_of(browser, "#detail-id").await;
        let refunded = shop.wait_until_final(&refunded_id).await;
        let refund = text_of(browser, "#detail-refund").await;
        assert_eq!(refund, format!("Refunded: {}", refunded.refund_id.as_deref().unwrap()));
        assert_eq!(shop.ledger(&refunded_id).await, vec![("charge".to_owned(), 34_900), ("refund".to_owned(), 34_900)]);
    })
    .await;
    console.browser.clone().close().await.unwrap();
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_needs_no_key_but_every_call_it_makes_does() {
    let shop = TestShop::start().await;
    let anonymous = reqwest::Client::new();
    let page = anonymous.get(format!("{}/", shop.api_url())).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "the console may not be framed: {policy}");
    assert!(page.text().await.unwrap().contains("/console.js"));
    let script = anonymous.get(format!("{}/console.js", shop.api_url())).send().await.unwrap();
    assert_eq!(script.status(), 200);

    // The configuration the forms are drawn from: the live catalog, the real policy.
    let config: Value =
        anonymous.get(format!("{}/console/config", shop.api_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["approval_threshold_cents"], 100_000);
    assert_eq!(config["operators"], json!(["alice", "bob"]));
    let skus: Vec<&str> =
        config["catalog"].as_array().unwrap().iter().map(|item| item["sku"].as_str().unwrap()).collect();
    assert!(skus.contains(&"MN-003"), "{skus:?}");

    // The data behind it is not public.
    let orders = anonymous.get(format!("{}/orders", shop.api_url())).send().await.unwrap();
    assert_eq!(orders.status(), 401);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_batch_and_subscription_views_follow_their_workflows() {
    if !chromedriver_installed() {
        return;
    }
    let shop = TestShop::start().await;
    let console = Console::start().await;
    let browser = &console.browser;

    shop.with_workers(|| async {
        console.open(&shop, "#batch-form select option").await;

        // A batch of three orders: the view follows the parent's `progress` query to the end.
        browser.find(Locator::Css("button[data-tab=batches]")).await.unwrap().click().await.unwrap();
        let count = browser.find(Locator::Css("#batch-form input[name=count]")).await.unwrap();
        count.clear().await.unwrap();
        count.send_keys("3").await.unwrap();
        browser.find(Locator::Css("#batch-form button[type=submit]")).await.unwrap().click().await.unwrap();
        let done = Locator::Css("#batch-view [data-status='COMPLETED']");
        browser.wait().at_most(PATIENCE).for_element(done).await.expect("the batch view shows COMPLETED");
        let batch_id = browser.find(Locator::Css("#batch-lookup input")).await.unwrap().prop("value").await.unwrap();
        let batch_id = batch_id.expect("the started batch's id is in the lookup field");
        let shown = browser.find(Locator::Css("#batch-view")).await.unwrap().text().await.unwrap();
        let (status, batch) = shop.get(&format!("/batches/{batch_id}")).await;
        assert_eq!(status, 200, "{batch}");
        assert_eq!((batch["finished"].as_u64(), batch["by_status"]["COMPLETED"].as_u64()), (Some(3), Some(3)));
        assert!(shown.contains("COMPLETED: 3"), "{shown}");

        // A subscription: active after its first charge, then cancelled at the period's end.
        browser.find(Locator::Css("button[data-tab=subscriptions]")).await.unwrap().click().await.unwrap();
        browser.find(Locator::Css("#subscription-form button[type=submit]")).await.unwrap().click().await.unwrap();
        let active = Locator::Css("#subscription-view [data-status='ACTIVE']");
        browser.wait().at_most(PATIENCE).for_element(active).await.expect("the subscription view shows ACTIVE");
        browser.find(Locator::Css("#subscription-cancel")).await.unwrap().click().await.unwrap();
        let cancelled = Locator::Css("#subscription-view [data-status='CANCELLED']");
        browser.wait().at_most(PATIENCE).for_element(cancelled).await.expect("the subscription view shows CANCELLED");
        let subscription_id = browser
            .find(Locator::Css("#subscription-lookup input"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        let workflow_id = format!("subscription-{subscription_id}");
        assert_eq!(shop.wait_until_closed(&workflow_id).await, WorkflowExecutionStatus::Completed);
    })
    .await;
    console.browser.clone().close().await.unwrap();
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_courier_tab_lists_a_parcel_and_its_buttons_bring_it_home() {
    if !chromedriver_installed() {
        return;
    }
    // No simulated carrier: the courier in the page is the only one.
    let shop = TestShop::start_with(|config| config.carrier = None).await;
    let console = Console::start().await;
    let browser = &console.browser;
    shop.with_workers(|| async {
        let order_id = shop.place(&support::orders::example()).await.order_id.clone();
        shop.wait_for_status(&order_id, OrderStatus::Shipped).await;
        console.open(&shop, "#order-form select option").await;
        browser.find(Locator::Css("button[data-tab=courier]")).await.unwrap().click().await.unwrap();
        let row = format!("#courier-table tr[data-order='{order_id}']");
        browser.wait().at_most(PATIENCE).for_element(Locator::Css(&row)).await.expect("the parcel is listed");
        for (kind, state) in [("dispatched", "dispatched"), ("out_for_delivery", "out_for_delivery")] {
            let button = format!("{row} button[data-kind='{kind}']");
            browser.find(Locator::Css(&button)).await.unwrap().click().await.unwrap();
            let shown = Locator::XPath(&format!(
                "//tr[@data-order='{order_id}']/td[contains(@class,'delivery-state') and text()='{state}']"
            ));
            browser.wait().at_most(PATIENCE).for_element(shown).await.expect("the state follows the click");
        }
        browser
            .find(Locator::Css(&format!("{row} button[data-kind='delivered']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        assert_eq!(done.delivery.as_ref().unwrap().step, JourneyStep::Delivered);
        let kinds: Vec<String> =
            sqlx::query_scalar("SELECT kind FROM shipping_carrier_events WHERE order_id = $1 ORDER BY received_at_ms")
                .bind(&order_id)
                .fetch_all(shop.db())
                .await
                .unwrap();
        assert_eq!(kinds, ["dispatched", "out_for_delivery", "delivered"], "one event per click");
    })
    .await;
    console.browser.clone().close().await.unwrap();
    shop.stop().await;
}
