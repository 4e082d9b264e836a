//! One object as YAML, for the cockpit's read-only view: read fresh from the API (the
//! snapshot keeps only what the views use), without managedFields, as `kubectl get -o yaml`.

use std::time::Duration;

use super::cause::Cause;

/// A hung server must not leave the view at "reading…" for good.
const DEADLINE: Duration = Duration::from_secs(10);

/// The object at `path` as YAML, or why it could not be read (a `Cause::Api` is the
/// server's answer, such as 404; any other cause means the server was not reached).
pub async fn fetch_yaml(client: &kube::Client, path: &str) -> Result<String, Cause> {
    let request = hyper::Request::get(path)
        .body(Vec::new())
        .map_err(|e| Cause::Other(e.to_string()))?;
    let text = tokio::time::timeout(DEADLINE, client.request_text(request))
        .await
        .map_err(|_| Cause::TimedOut)?
        .map_err(|e| Cause::of(&e))?;
    let mut object: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Cause::Other(e.to_string()))?;
    if let Some(meta) = object
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
    {
        meta.remove("managedFields");
    }
    serde_saphyr::to_string(&object).map_err(|e| Cause::Other(e.to_string()))
}
