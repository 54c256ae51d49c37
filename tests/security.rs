//! Day 10, security: API keys with roles (401/403 change nothing), payloads encrypted at rest
//! in the server's history, the codec endpoint the Web UI decrypts them through, and key
//! rotation.

use crate::support;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use capstone::{
    api::api_keys::Role,
    codec::{KeyRing, aes::ENCODING},
};
use capstone_workflows::order::OrderStatus;
use capstone_workflows::{
    hello::{HelloInput, HelloWorkflow},
    order::OrderInput,
};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{TEST_PAYLOAD_KEYS, TestShop, client_with_key, orders};
use temporalio_client::{NamespacedClient, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::{
    data_converters::{SerializationContextData, WorkflowSerializationContext},
    protos::temporal::api::{
        common::v1::Payload,
        history::v1::{HistoryEvent, history_event::Attributes},
    },
};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn all_bytes(events: &[HistoryEvent]) -> Vec<u8> {
    events.iter().flat_map(|event| event.encode_to_vec()).collect()
}

fn start_input(events: &[HistoryEvent]) -> Payload {
    events
        .iter()
        .find_map(|event| match &event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) => {
                started.input.as_ref().map(|input| input.payloads[0].clone())
            }
            _ => None,
        })
        .expect("a start event with input")
}

async fn send(http: &reqwest::Client, method: Method, url: String, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_the_right_key_are_refused_and_change_nothing() {
    let shop = TestShop::start().await;
    let api = shop.api_url();
    let anonymous = reqwest::Client::new();
    let ada = client_with_key(&shop.create_key(Role::Customer, Some("ada")).await);
    let grace = client_with_key(&shop.create_key(Role::Customer, Some("grace")).await);
    let service = client_with_key(&shop.create_key(Role::Service, None).await);
    let bogus = client_with_key("cap_0000000000000000000000000000000000000000000000000000000000000000");
    let order = orders::example(); // ada's
    let refusals = [
        (&anonymous, Method::POST, "/orders", Some(order.clone()), StatusCode::UNAUTHORIZED, "missing_api_key"),
        (&bogus, Method::POST, "/orders", Some(order.clone()), StatusCode::UNAUTHORIZED, "invalid_api_key"),
        (&grace, Method::POST, "/orders", Some(order.clone()), StatusCode::FORBIDDEN, "forbidden"),
        (&service, Method::POST, "/orders", Some(order.clone()), StatusCode::FORBIDDEN, "forbidden"),
        (&anonymous, Method::GET, "/orders", None, StatusCode::UNAUTHORIZED, "missing_api_key"),
        (&service, Method::GET, "/orders", None, StatusCode::FORBIDDEN, "forbidden"),
        (
            &ada,
            Method::POST,
            "/orders/x/approve",
            Some(json!({"operator": "alice"})),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (&ada, Method::POST, "/orders/x/cancel", None, StatusCode::FORBIDDEN, "forbidden"),
        (&ada, Method::POST, "/batches", Some(json!({"count": 2})), StatusCode::FORBIDDEN, "forbidden"),
        (&shop.http, Method::PUT, "/internal/orders/x", Some(json!({})), StatusCode::FORBIDDEN, "forbidden"),
        (&ada, Method::POST, "/codec/decode", Some(json!({"payloads": []})), StatusCode::FORBIDDEN, "forbidden"),
        (
            &anonymous,
            Method::POST,
            "/codec/decode",
            Some(json!({"payloads": []})),
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
        ),
    ];
    for (http, method, path, body, status, error) in refusals {
        let (actual, answer) = send(http, method.clone(), format!("{api}{path}"), body).await;
        assert_eq!(actual, status, "{method} {path}: {answer}");
        assert_eq!(answer["error"], error, "{method} {path}: {answer}");
        assert!(!answer["detail"].as_str().unwrap_or_default().is_empty(), "{answer}");
    }
    assert_eq!(shop.count("SELECT COUNT(*) FROM api_orders WHERE customer_id = $1", "ada").await, 0);
    let workflows = shop.client.count_workflows("", Default::default()).await.unwrap().count();
    assert_eq!(workflows, 0, "no workflow was started");

    // The right keys: ada places and reads her own order; grace cannot see it.
    let (status, accepted) = send(&ada, Method::POST, format!("{api}/orders"), Some(order)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let order_id = support::accepted(&accepted).order_id;
    let (status, _) = send(&ada, Method::GET, format!("{api}/orders/{order_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = send(&grace, Method::GET, format!("{api}/orders/{order_id}"), None).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::NOT_FOUND, Some("order_not_found")));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_are_ciphertext_on_the_server_and_the_codec_endpoint_opens_them() {
    let shop = TestShop::start().await;
    let order = shop.place_and_finish(&orders::example()).await;
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    let workflow_id = order.workflow_id.as_str();

    // The history as the server stores it, fetched by a client without the codec: no card
    // token, address or e-mail anywhere, in the order or in its shipment child.
    let url = temporalio_client::Url::parse(&format!("http://{}", shop.server.address)).unwrap();
    let connection = temporalio_client::Connection::connect(
        temporalio_client::ConnectionOptions::new(url).identity("no-codec").build(),
    )
    .await
    .unwrap();
    let no_codec =
        temporalio_client::Client::new(connection, temporalio_client::ClientOptions::new("default").build()).unwrap();
    for workflow_id in [workflow_id.to_owned(), format!("{workflow_id}-shipment")] {
        let events = no_codec
            .get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.clone())
            .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .unwrap();
        let stored = all_bytes(&events);
        for secret in ["tok_visa", "12 Analytical Street", "Ada Lovelace", "ada@example.com", "Berlin"] {
            assert!(!contains(&stored, secret.as_bytes()), "{secret} is in plain text in {workflow_id}");
        }
        assert!(contains(&stored, ENCODING.as_bytes()), "{workflow_id} has encrypted payloads");
    }

    // With the codec, everything decodes.
    let events = shop.history(workflow_id).await;
    let input = start_input(&events);
    assert_eq!(input.metadata["encoding"], ENCODING.as_bytes());
    let context = SerializationContextData::Workflow(WorkflowSerializationContext::new());
    let decoded: OrderInput = shop.client.data_converter().from_payload(&context, input.clone()).await.unwrap();
    assert_eq!((decoded.payment.card_token.as_str(), decoded.email.as_str()), ("tok_visa", "ada@example.com"));

    // The Web UI's way: POST the payload to /codec/decode as an operator.
    let api = shop.api_url();
    let wire = json!({ "payloads": [{
        "metadata": input.metadata.iter().map(|(key, value)| (key.clone(), json!(BASE64.encode(value)))).collect::<serde_json::Map<_, _>>(),
        "data": BASE64.encode(&input.data),
    }]});
    let (status, plain) = send(&shop.http, Method::POST, format!("{api}/codec/decode"), Some(wire.clone())).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    let plain = &plain["payloads"][0];
    assert_eq!(BASE64.decode(plain["metadata"]["encoding"].as_str().unwrap()).unwrap(), b"json/plain");
    let json: Value = serde_json::from_slice(&BASE64.decode(plain["data"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(json["payment"]["card_token"], "tok_visa");
    // ... and /codec/encode seals it again, to a payload that decodes to the same thing.
    let (status, sealed) =
        send(&shop.http, Method::POST, format!("{api}/codec/encode"), Some(json!({ "payloads": [plain] }))).await;
    assert_eq!(status, StatusCode::OK, "{sealed}");
    assert_ne!(sealed["payloads"][0]["data"], plain["data"]);
    let (_, again) = send(&shop.http, Method::POST, format!("{api}/codec/decode"), Some(sealed)).await;
    assert_eq!(&again["payloads"][0], plain);

    // The UI cannot send a header, so its setting carries the key in the path.
    let anonymous = reqwest::Client::new();
    let path_key = format!("{api}/codec/k/{}/decode", shop.operator_key);
    let (status, _) = send(&anonymous, Method::POST, path_key, Some(wire.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        send(&anonymous, Method::POST, format!("{api}/codec/k/cap_nope/decode"), Some(wire.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A deployment's CODEC_KEY opens the codec endpoint, in the path or as a header, and
    // nothing else: the same key on an order route is an unknown key.
    let codec_key = support::TEST_CODEC_KEY;
    let by_path = format!("{api}/codec/k/{codec_key}/decode");
    assert_eq!(send(&anonymous, Method::POST, by_path, Some(wire.clone())).await.0, StatusCode::OK);
    let with_codec_key = client_with_key(codec_key);
    assert_eq!(send(&with_codec_key, Method::POST, format!("{api}/codec/decode"), Some(wire)).await.0, StatusCode::OK);
    let (status, refused) = send(&with_codec_key, Method::GET, format!("{api}/orders"), None).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
    let (status, answer) =
        send(&shop.http, Method::POST, format!("{api}/codec/decode"), Some(json!({"payloads": [{"data": "%%%"}]})))
            .await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")));

    // The Temporal CLI speaks the same protocol: with the codec endpoint the order's input in
    // `workflow show` is the plain JSON again, without it ciphertext.
    let show = |codec: bool| {
        let mut command = std::process::Command::new(support::temporal_cli());
        command.args(["workflow", "show", "--output", "json", "-w", workflow_id, "--address", &shop.server.address]);
        if codec {
            command.args(["--codec-endpoint", &format!("{api}/codec")]);
            command.args(["--codec-auth", &format!("Bearer {}", shop.operator_key)]);
        }
        let output = command.output().expect("the temporal CLI runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let history: Value = serde_json::from_slice(&output.stdout).expect("JSON from the CLI");
        let input = &history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0];
        let data = BASE64.decode(input["data"].as_str().unwrap_or_default()).unwrap_or_default();
        String::from_utf8_lossy(&data).into_owned()
    };
    let decoded = show(true);
    assert!(decoded.contains("\"card_token\":\"tok_visa\""), "the CLI decoded through the endpoint: {decoded}");
    assert!(!show(false).contains("tok_visa"));

    // CORS: the UI's origin may call from a browser; another origin may not.
    for (origin, allowed) in [("http://127.0.0.1:8233", true), ("http://evil.example", false)] {
        let preflight = anonymous
            .request(Method::OPTIONS, format!("{api}/codec/decode"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
            .send()
            .await
            .unwrap();
        let allow_origin =
            preflight.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allow_origin.as_deref() == Some(origin), allowed, "{origin}: {:?}", preflight.headers());
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_key_rotation_old_payloads_still_decode() {
    // The shop runs with the test ring: the new key first, the old one after it.
    let shop = TestShop::start().await;
    let (old_id, new_id) = ("test-2026-01", "test-2026-11");
    let old_only = TEST_PAYLOAD_KEYS.split(',').map(str::trim).find(|entry| entry.starts_with(old_id)).unwrap();
    let old_ring = KeyRing::parse(old_only).unwrap();
    // A client that has not been rotated yet starts a workflow: its input is sealed with the
    // old key. The rotated workers still open it, and seal what they write with the new key.
    let before_rotation =
        capstone::temporal::connect(&support::plain(&shop.server.address), "not-rotated", support::PATIENCE, &old_ring)
            .await
            .unwrap();
    let greeting = shop
        .with_workers(|| async {
            let input = HelloInput {
                name: "Rotated".into(),
                pause_ms: 0,
                activity_task_queue: shop.queues().activities.clone(),
            };
            let options = WorkflowStartOptions::new(shop.queues().workflows.clone(), "hello-rotated").build();
            before_rotation.start_workflow(HelloWorkflow::run, input, options).await.unwrap();
            // Read through the rotated client: it holds both keys.
            shop.client
                .get_workflow_handle::<HelloWorkflow>("hello-rotated".to_owned())
                .get_result(WorkflowGetResultOptions::default())
                .await
                .unwrap()
        })
        .await;
    assert_eq!(greeting, "Hello, Rotated!");
    let events = shop.history("hello-rotated").await;
    let stored = all_bytes(&events);
    assert!(contains(&stored, old_id.as_bytes()) && contains(&stored, new_id.as_bytes()), "both keys are in use");
    assert_eq!(start_input(&events).metadata["encryption-key-id"], old_id.as_bytes());

    // Drop the old key too early, and the old payloads are lost to this process.
    let new_only = KeyRing::parse(TEST_PAYLOAD_KEYS.split(',').next().unwrap()).unwrap();
    let codec = capstone::codec::EncryptionCodec::new(new_only);
    let error = codec.decrypt(start_input(&events)).unwrap_err();
    assert!(error.to_string().contains(old_id), "{error}");
    shop.stop().await;
}
