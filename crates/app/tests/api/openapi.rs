//! The generated OpenAPI document is pinned: a change to the API shows up as a snapshot diff to review
//! (`cargo insta review`, or INSTA_UPDATE=always).

use axum::http::StatusCode;

use crate::harness::TestApp;

#[tokio::test]
async fn the_spec_is_served_and_pinned() {
    let app = TestApp::spawn().await;
    let served = app.get("/api/openapi.json", None).await;
    served.assert_status(StatusCode::OK);
    let (_, spec) = brigade_app::http::api();
    let generated = serde_json::to_value(&spec).unwrap();
    assert_eq!(served.body, generated);
    insta::assert_json_snapshot!("openapi", generated);

    // Every reference resolves: a dangling one leaves clients (and the contract test) guessing.
    let text = generated.to_string();
    let schemas = generated["components"]["schemas"].as_object().unwrap();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(
            schemas.contains_key(name),
            "{name} is referred to but not defined"
        );
    }

    // Every operation documents its error answers in the envelope.
    for (path, item) in generated["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has no success response"
            );
            if op.get("security").is_some() {
                assert!(op["tags"].is_array(), "{method} {path} is untagged");
            }
        }
    }
}

#[tokio::test]
async fn the_docs_page_is_served_locally() {
    let app = TestApp::spawn().await;
    let redirect = app.get("/api/docs", None).await;
    assert!(redirect.status.is_redirection());
    let page = app.get("/api/docs/", None).await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.text.contains("swagger-ui"),
        "{}",
        &page.text[..page.text.len().min(400)]
    );
    let init = app.get("/api/docs/swagger-initializer.js", None).await;
    init.assert_status(StatusCode::OK);
    assert!(init.text.contains("/api/openapi.json"));
    let bundle = app.get("/api/docs/swagger-ui-bundle.js", None).await;
    bundle.assert_status(StatusCode::OK);
    assert!(
        bundle.text.len() > 100_000,
        "the UI's script is embedded, not fetched from elsewhere"
    );
    assert!(
        !page.text.contains("https://"),
        "no external assets on the page"
    );
}
