//! A stand-in Prometheus on 127.0.0.1: it answers `/api/v1/query` and
//! `/api/v1/query_range` (GET parameters or POST form) with canned JSON
//! chosen by the `query` parameter, and records every request.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An HTTP status and JSON body.
#[derive(Clone)]
pub struct Answer {
    status: StatusCode,
    body: String,
}

/// A request as the server saw it, parameters decoded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub params: HashMap<String, String>,
    /// Header values by lowercase name.
    pub headers: HashMap<String, String>,
}

type Labels<'a> = &'a [(&'a str, &'a str)];

/// An instant vector; values are strings as Prometheus sends them ("NaN" too).
pub fn vector(series: &[(Labels, &str)]) -> Answer {
    let result: Vec<String> = series
        .iter()
        .map(|(labels, value)| {
            format!(
                r#"{{"metric":{},"value":[1700000000.5,"{value}"]}}"#,
                metric(labels)
            )
        })
        .collect();
    success("vector", &result)
}

/// A range vector: per series, (unix seconds, value) points.
pub fn matrix(series: &[(Labels, &[(f64, &str)])]) -> Answer {
    let result: Vec<String> = series
        .iter()
        .map(|(labels, points)| {
            let values: Vec<String> = points
                .iter()
                .map(|(at, value)| format!(r#"[{at},"{value}"]"#))
                .collect();
            format!(
                r#"{{"metric":{},"values":[{}]}}"#,
                metric(labels),
                values.join(",")
            )
        })
        .collect();
    success("matrix", &result)
}

/// What Prometheus sends for a query it rejects.
pub fn bad_data(message: &str) -> Answer {
    Answer {
        status: StatusCode::BAD_REQUEST,
        body: format!(r#"{{"status":"error","errorType":"bad_data","error":"{message}"}}"#),
    }
}

fn success(kind: &str, result: &[String]) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: format!(
            r#"{{"status":"success","data":{{"resultType":"{kind}","result":[{}]}}}}"#,
            result.join(",")
        ),
    }
}

fn metric(labels: Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!(r#""{name}":"{value}""#))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// Aborts the server task when the test is done with it.
pub struct Server {
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct FakePrometheus {
    pub server: Server,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl FakePrometheus {
    /// Serves `answers` by PromQL text; any other query gets bad_data.
    pub async fn start(answers: Vec<(String, Answer)>) -> Self {
        let answers: Arc<HashMap<String, Answer>> = Arc::new(answers.into_iter().collect());
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorder = log.clone();
        let server = spawn_server(move |stream| {
            let (answers, log) = (answers.clone(), recorder.clone());
            let service = service_fn(move |request| answer(request, answers.clone(), log.clone()));
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        })
        .await;
        Self { server, log }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

/// Accepts connections and never answers, to exercise client timeouts.
pub async fn stalled_server() -> Server {
    let held = Arc::new(Mutex::new(Vec::new()));
    spawn_server(move |stream| held.lock().unwrap().push(stream)).await
}

async fn spawn_server(
    mut on_connection: impl FnMut(tokio::net::TcpStream) + Send + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            on_connection(stream);
        }
    });
    Server { url, task }
}

async fn answer(
    request: Request<Incoming>,
    answers: Arc<HashMap<String, Answer>>,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let mut params = form(request.uri().query().unwrap_or_default());
    let body = request.into_body().collect().await?.to_bytes();
    params.extend(form(&String::from_utf8_lossy(&body)));
    let known = matches!(path.as_str(), "/api/v1/query" | "/api/v1/query_range");
    let reply = match params.get("query").and_then(|query| answers.get(query)) {
        Some(canned) if known => canned.clone(),
        _ => bad_data("fake: no answer for this request"),
    };
    log.lock().unwrap().push(Recorded {
        method,
        path,
        params,
        headers,
    });
    Ok(Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap())
}

/// Decodes `a=1&b=x+y` the way a browser form is encoded.
fn form(encoded: &str) -> HashMap<String, String> {
    let url =
        reqwest::Url::parse(&format!("http://fake/?{encoded}")).expect("form parses as a query");
    url.query_pairs().into_owned().collect()
}
