//! One object as YAML, for the cockpit's read-only view: read fresh from the API (the
//! snapshot keeps only what the views use), without managedFields, as `kubectl get -o yaml`.

pub async fn fetch_yaml(client: &kube::Client, path: &str) -> Result<String, String> {
    let request = hyper::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let text = client.request_text(request).await.map_err(|e| match e {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    })?;
    let mut object: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if let Some(meta) = object
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
    {
        meta.remove("managedFields");
    }
    serde_saphyr::to_string(&object).map_err(|e| e.to_string())
}
