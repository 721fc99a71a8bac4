//! The WebSocket connection against real sockets on loopback: frames,
//! closes, header auth, TLS with a custom CA, HTTP CONNECT proxies, idle
//! liveness.

mod support;

use std::time::Duration;

use gemlive_transport::{
    ApiVersion, Auth, Connection, Endpoint, Error, Incoming, ProxyConfig, ProxyError, TlsConfig,
    WsConnection, WsOptions,
};
use serde_json::json;
use support::{ConnectProxy, LiveServer, ServerConn, pki};

fn direct() -> WsOptions {
    WsOptions {
        proxy: ProxyConfig::Direct,
        ..WsOptions::default()
    }
}

async fn open(
    server: &LiveServer,
    auth: &Auth,
    options: &WsOptions,
) -> Result<WsConnection, Error> {
    let endpoint = Endpoint::custom(&server.base_url()).unwrap();
    let url = endpoint.url(auth, false).unwrap();
    WsConnection::connect(&url, auth.headers().unwrap(), options).await
}

fn payload_json(incoming: &Incoming) -> serde_json::Value {
    serde_json::from_slice(incoming.payload().expect("a data frame")).unwrap()
}

#[tokio::test]
async fn binary_and_text_frames_and_close_with_reason() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        let setup = conn.recv_json().await.unwrap();
        assert_eq!(setup["setup"]["model"], "models/m");
        conn.send_binary_json(&json!({"setupComplete": {}})).await;
        conn.send_text_json(&json!({"serverContent": {"turnComplete": true}}))
            .await;
        conn.close(1011, "Internal error encountered.").await;
    })
    .await;
    let mut ws = open(&server, &Auth::None, &direct()).await.unwrap();
    ws.send(r#"{"setup":{"model":"models/m"}}"#.to_owned())
        .await
        .unwrap();

    let first = ws.recv().await.unwrap();
    assert!(matches!(first, Incoming::Binary(_)), "{first:?}");
    let raw = std::str::from_utf8(first.payload().unwrap()).unwrap();
    assert_eq!(
        raw, "{\n  \"setupComplete\": {}\n}\n",
        "pretty-printed like Google"
    );
    assert_eq!(payload_json(&first), json!({"setupComplete": {}}));

    let second = ws.recv().await.unwrap();
    assert!(matches!(second, Incoming::Text(_)), "{second:?}");
    assert_eq!(payload_json(&second)["serverContent"]["turnComplete"], true);

    match ws.recv().await.unwrap() {
        Incoming::Close(Some(close)) => {
            assert_eq!(close.code, 1011);
            assert_eq!(close.reason, "Internal error encountered.");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    ws.shutdown().await;
    assert!(matches!(ws.recv().await.unwrap(), Incoming::Close(None)));
}

#[tokio::test]
async fn close_codes_1007_1008_reach_the_client() {
    for (code, reason) in [
        (1007, "Request contains an invalid argument."),
        // A close reason is at most 123 bytes (RFC 6455 control frames carry
        // 125); Google's long 1008 text arrives cut at that length.
        (
            1008,
            "models/nope is not found for API version v1beta, or is not supported for bidiGenerateContent. Call ModelService.ListModels",
        ),
    ] {
        let server = LiveServer::start(None, move |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.close(code, reason).await;
        })
        .await;
        let mut ws = open(&server, &Auth::None, &direct()).await.unwrap();
        ws.send("{\"setup\":{}}".to_owned()).await.unwrap();
        match ws.recv().await.unwrap() {
            Incoming::Close(Some(close)) => {
                assert_eq!((close.code, close.reason.as_str()), (code, reason))
            }
            other => panic!("expected a close, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn abrupt_disconnect_is_a_close_without_frame() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        conn.recv_json().await;
        drop(conn);
    })
    .await;
    let mut ws = open(&server, &Auth::None, &direct()).await.unwrap();
    ws.send("{}".to_owned()).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Incoming::Close(None));
}

#[tokio::test]
async fn credentials_travel_in_headers_not_the_url() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        conn.recv_json().await;
    })
    .await;
    let key = Auth::api_key("AIzaLOOPBACKKEY");
    let mut ws = open(&server, &key, &direct()).await.unwrap();
    ws.send("{}".to_owned()).await.unwrap();
    let token = Auth::ephemeral_token("auth_tokens/abc123");
    let endpoint = Endpoint::Custom {
        base_url: url::Url::parse(&server.base_url()).unwrap(),
        version: ApiVersion::V1Alpha,
    };
    let url = endpoint.url(&token, false).unwrap();
    let mut ws2 = WsConnection::connect(&url, token.headers().unwrap(), &direct())
        .await
        .unwrap();
    ws2.send("{}".to_owned()).await.unwrap();
    let bearer = Auth::bearer("ya29.token");
    let mut ws3 = open(&server, &bearer, &direct()).await.unwrap();
    ws3.send("{}".to_owned()).await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].uri,
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    );
    assert_eq!(seen[0].header("x-goog-api-key"), Some("AIzaLOOPBACKKEY"));
    assert!(
        seen[0]
            .header("user-agent")
            .unwrap()
            .starts_with("gemlive/")
    );
    assert_eq!(
        seen[1].uri,
        "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
    );
    assert_eq!(
        seen[1].header("authorization"),
        Some("Token auth_tokens/abc123")
    );
    assert_eq!(seen[1].header("x-goog-api-key"), None);
    assert_eq!(seen[2].header("authorization"), Some("Bearer ya29.token"));
    for request in &seen {
        assert!(!request.uri.contains('?'), "no credentials in the URL");
    }
}

#[tokio::test]
async fn upgrade_rejection_reports_the_status() {
    let server =
        LiveServer::start_with_upgrade(None, Some(403), |_conn: ServerConn| async {}).await;
    let err = open(&server, &Auth::api_key("AIzaSECRET"), &direct())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake { status: 403, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("AIzaSECRET"));
    assert!(!format!("{err:?}").contains("AIzaSECRET"));
}

#[tokio::test]
async fn tls_with_a_custom_ca() {
    let pki = pki();
    let server = LiveServer::start(
        Some(pki.server_config.clone()),
        |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            conn.recv_json().await;
        },
    )
    .await;
    let options = WsOptions {
        tls: TlsConfig {
            extra_ca_file: Some(pki.ca_file.clone()),
            ..TlsConfig::default()
        },
        ..direct()
    };
    let mut ws = open(&server, &Auth::None, &options).await.unwrap();
    ws.send("{\"setup\":{}}".to_owned()).await.unwrap();
    assert_eq!(
        payload_json(&ws.recv().await.unwrap()),
        json!({"setupComplete": {}})
    );

    // Without the CA the certificate is not trusted: verification is on.
    let err = open(&server, &Auth::None, &direct()).await.unwrap_err();
    assert!(matches!(err, Error::TlsHandshake { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn wss_through_an_http_connect_proxy() {
    let pki = pki();
    let server = LiveServer::start(
        Some(pki.server_config.clone()),
        |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            conn.recv_json().await;
        },
    )
    .await;
    let proxy = ConnectProxy::start(Some("alice:pa ss")).await;
    let options = WsOptions {
        tls: TlsConfig::only_ca_file(&pki.ca_file),
        proxy: ProxyConfig::url(&format!("http://alice:pa%20ss@{}", proxy.addr)).unwrap(),
        ..WsOptions::default()
    };
    let mut ws = open(&server, &Auth::None, &options).await.unwrap();
    ws.send("{\"setup\":{}}".to_owned()).await.unwrap();
    assert_eq!(
        payload_json(&ws.recv().await.unwrap()),
        json!({"setupComplete": {}})
    );
    assert_eq!(proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        proxy.targets.lock().unwrap().as_slice(),
        [format!("localhost:{}", server.addr.port())]
    );

    // Wrong credentials: the proxy's refusal is reported, without the password.
    let bad = WsOptions {
        proxy: ProxyConfig::url(&format!("http://alice:wrong@{}", proxy.addr)).unwrap(),
        ..options
    };
    let err = open(&server, &Auth::None, &bad).await.unwrap_err();
    match &err {
        Error::Proxy(ProxyError::Refused { status_line, .. }) => {
            assert!(status_line.contains("407"), "{status_line}");
        }
        other => panic!("expected a proxy refusal, got {other:?}"),
    }
    assert!(!err.to_string().contains("wrong"), "{err}");
}

#[tokio::test]
async fn idle_timeout_kills_only_dead_connections() {
    // A server that reads (so it answers pings) but sends nothing stays up.
    let quiet = LiveServer::start(None, |mut conn: ServerConn| async move {
        conn.recv_json().await;
    })
    .await;
    let options = WsOptions {
        idle_timeout: Some(Duration::from_millis(300)),
        ..direct()
    };
    let mut ws = open(&quiet, &Auth::None, &options).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_millis(1200), ws.recv()).await;
    assert!(
        outcome.is_err(),
        "a healthy quiet connection must survive: {outcome:?}"
    );
    // Not reading for longer than the idle timeout (a busy driver) is no
    // reason to declare the connection dead either.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let outcome = tokio::time::timeout(Duration::from_millis(600), ws.recv()).await;
    assert!(
        outcome.is_err(),
        "a paused reader must not time out: {outcome:?}"
    );

    // A server that never reads never answers the ping: declared dead.
    let stuck = LiveServer::start(None, |conn: ServerConn| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(conn);
    })
    .await;
    let mut ws = open(&stuck, &Auth::None, &options).await.unwrap();
    let started = std::time::Instant::now();
    let err = ws.recv().await.unwrap_err();
    assert!(matches!(err, Error::IdleTimeout(_)), "{err:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[tokio::test]
async fn connect_refused_and_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = url::Url::parse(&format!("ws://127.0.0.1:{port}/ws")).unwrap();
    let err = WsConnection::connect(&url, http::HeaderMap::new(), &direct())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");

    // A TCP server that never answers the upgrade.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("ws://{}/ws", silent.local_addr().unwrap())).unwrap();
    let options = WsOptions {
        connect_timeout: Duration::from_millis(200),
        ..direct()
    };
    let err = WsConnection::connect(&url, http::HeaderMap::new(), &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectTimeout(_)), "{err:?}");
}

#[tokio::test]
async fn a_peer_that_stops_reading_cannot_stall_a_sender() {
    let stuck = LiveServer::start(None, |conn: ServerConn| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(conn);
    })
    .await;
    let options = WsOptions {
        idle_timeout: Some(Duration::from_millis(300)),
        ..direct()
    };
    let mut ws = open(&stuck, &Auth::None, &options).await.unwrap();
    let frame = format!("{{\"pad\":\"{}\"}}", "x".repeat(1 << 20));
    let started = std::time::Instant::now();
    let mut sent = 0;
    let err = loop {
        match ws.send(frame.clone()).await {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 1000, "the socket never filled up");
    };
    assert!(matches!(err, Error::IdleTimeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn wss_through_an_https_proxy() {
    let pki = pki();
    let server = LiveServer::start(
        Some(pki.server_config.clone()),
        |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            conn.recv_json().await;
        },
    )
    .await;
    let proxy = ConnectProxy::start_with(None, Some(pki.server_config.clone())).await;
    let options = WsOptions {
        tls: TlsConfig::only_ca_file(&pki.ca_file),
        proxy: ProxyConfig::url(&format!("https://localhost:{}", proxy.addr.port())).unwrap(),
        ..WsOptions::default()
    };
    let mut ws = open(&server, &Auth::None, &options).await.unwrap();
    ws.send("{\"setup\":{}}".to_owned()).await.unwrap();
    assert_eq!(
        payload_json(&ws.recv().await.unwrap()),
        json!({"setupComplete": {}})
    );
    assert_eq!(proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn wss_through_socks5_proxies() {
    let pki = pki();
    let server = LiveServer::start(
        Some(pki.server_config.clone()),
        |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            conn.recv_json().await;
        },
    )
    .await;
    let port = server.addr.port();
    let plain = support::Socks5Proxy::start(None).await;
    let authed = support::Socks5Proxy::start(Some(("bob", "s3cret"))).await;
    for (proxy_url, proxy, expected_target) in [
        // socks5h: the proxy resolves the name.
        (
            format!("socks5h://{}", plain.addr),
            &plain,
            format!("localhost:{port}"),
        ),
        // socks5: resolved here, the proxy sees an address.
        (
            format!("socks5://bob:s3cret@{}", authed.addr),
            &authed,
            String::new(),
        ),
    ] {
        let options = WsOptions {
            tls: TlsConfig::only_ca_file(&pki.ca_file),
            proxy: ProxyConfig::url(&proxy_url).unwrap(),
            ..WsOptions::default()
        };
        let mut ws = open(&server, &Auth::None, &options).await.unwrap();
        ws.send("{\"setup\":{}}".to_owned()).await.unwrap();
        assert_eq!(
            payload_json(&ws.recv().await.unwrap()),
            json!({"setupComplete": {}})
        );
        let targets = proxy.targets.lock().unwrap().clone();
        assert_eq!(targets.len(), 1);
        if expected_target.is_empty() {
            assert!(targets[0].ends_with(&format!(":{port}")), "{targets:?}");
            assert!(!targets[0].starts_with("localhost"), "{targets:?}");
        } else {
            assert_eq!(targets[0], expected_target);
        }
    }

    let wrong = WsOptions {
        tls: TlsConfig::only_ca_file(&pki.ca_file),
        proxy: ProxyConfig::url(&format!("socks5://bob:wrong@{}", authed.addr)).unwrap(),
        ..WsOptions::default()
    };
    let err = open(&server, &Auth::None, &wrong).await.unwrap_err();
    assert!(
        matches!(err, Error::Proxy(ProxyError::Refused { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"), "{err}");
}
