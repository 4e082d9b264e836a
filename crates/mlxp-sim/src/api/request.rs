//! What a request asks for: the path's resource, the verb, the query parameters.

use std::sync::Arc;

use hyper::Method;

use super::status::ApiError;
use super::{ApiState, User};
use crate::resources::ResourceType;
use mlxp_core::domain::selector::{FieldSelector, LabelSelector};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/G`
    Group(String),
    /// `/api/v1`, `/apis/G/V`
    Resources { group: String, version: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The `/watch/` path form.
    pub watch_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Discovery(Discovery),
    Resource(Target),
}

/// Splits a Kubernetes API path into what it addresses.
pub fn parse_path(path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => return Ok(Route::Discovery(Discovery::CoreVersions)),
        ["apis"] => return Ok(Route::Discovery(Discovery::Groups)),
        ["apis", group] => return Ok(Route::Discovery(Discovery::Group(group.to_string()))),
        ["api", version] => {
            return Ok(Route::Discovery(Discovery::Resources {
                group: String::new(),
                version: version.to_string(),
            }));
        }
        ["apis", group, version] => {
            return Ok(Route::Discovery(Discovery::Resources {
                group: group.to_string(),
                version: version.to_string(),
            }));
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let (watch_path, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    // `namespaces/NS/...` scopes a namespaced resource, except the namespace object's own
    // subresources (`namespaces/NS/status`, `namespaces/NS/finalize`).
    let (namespace, rest) = match rest {
        ["namespaces", _, sub] if group.is_empty() && (*sub == "status" || *sub == "finalize") => {
            (None, rest)
        }
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(name.to_string()), None),
        [resource, name, sub] => (*resource, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(ApiError::path_not_found()),
    };
    Ok(Route::Resource(Target {
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        namespace,
        name,
        subresource,
        watch_path,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Log,
    Create,
    /// POST pods/NAME/eviction.
    Evict,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The verb an RBAC rule names for it (and a Forbidden message says).
    pub fn rbac(self) -> &'static str {
        match self {
            Verb::Get | Verb::Log => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create | Verb::Evict => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }

    pub fn is_read(self) -> bool {
        matches!(self, Verb::Get | Verb::List | Verb::Watch | Verb::Log)
    }
}

/// The verb of a request, checked against what the resource supports.
pub fn verb(method: &Method, target: &Target, rt: &ResourceType) -> Result<Verb, ApiError> {
    if rt.namespaced && target.namespace.is_none() && target.name.is_some() {
        return Err(ApiError::path_not_found());
    }
    if !rt.namespaced && target.namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    if let Some(sub) = &target.subresource {
        let known = match sub.as_str() {
            "status" => rt.status,
            "scale" => rt.scale,
            "log" => rt.log,
            "eviction" => rt.group.is_empty() && rt.plural == "pods",
            _ => false,
        };
        if !known {
            return Err(ApiError::path_not_found());
        }
        if sub == "eviction" {
            return match *method {
                Method::POST => Ok(Verb::Evict),
                _ => Err(ApiError::method_not_allowed(format!(
                    "the server does not allow this method on the requested resource ({method} pods/eviction)"
                ))),
            };
        }
        if sub == "log" {
            return match *method {
                Method::GET => Ok(Verb::Log),
                _ => Err(ApiError::method_not_allowed(format!(
                    "the server does not allow this method on the requested resource ({method} {}/log)",
                    rt.plural
                ))),
            };
        }
    }
    let named = target.name.is_some();
    let verb = match (method.clone(), named) {
        (Method::GET, true) if target.watch_path => Verb::Watch,
        (Method::GET, true) => Verb::Get,
        (Method::GET, false) if target.watch_path => Verb::Watch,
        (Method::GET, false) => Verb::List,
        (Method::POST, false) => Verb::Create,
        (Method::PUT, true) => Verb::Update,
        (Method::PATCH, true) => Verb::Patch,
        (Method::DELETE, true) => Verb::Delete,
        (Method::DELETE, false) => Verb::DeleteCollection,
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method} {})",
                rt.plural
            )));
        }
    };
    if rt.create_only && verb != Verb::Create {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {})",
            rt.plural
        )));
    }
    if target.subresource.is_some() && !matches!(verb, Verb::Get | Verb::Update | Verb::Patch) {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {})",
            rt.plural
        )));
    }
    Ok(verb)
}

/// The query parameters the server understands; unknown ones are ignored, as the apiserver does.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub watch: bool,
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub allow_bookmarks: bool,
    pub timeout_seconds: Option<u64>,
    pub send_initial_events: bool,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub field_validation: FieldValidation,
    pub propagation_policy: Option<String>,
    pub follow: bool,
    /// A pod log request's options.
    pub log: super::log_options::LogOptions,
    pub include_object: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut q = Query::default();
        let flag = |v: &str| matches!(v, "true" | "1" | "True" | "TRUE");
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let value = value.as_ref();
            match key.as_ref() {
                "watch" => q.watch = flag(value),
                "labelSelector" => {
                    q.label_selector = LabelSelector::parse(value)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?
                }
                "fieldSelector" => {
                    q.field_selector = FieldSelector::parse(value)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?
                }
                "limit" => {
                    let n: i64 = value
                        .parse()
                        .map_err(|_| ApiError::bad_request(format!("invalid limit {value:?}")))?;
                    q.limit = (n > 0).then_some(n as usize);
                }
                "continue" if !value.is_empty() => q.continue_token = Some(value.to_string()),
                "resourceVersion" if !value.is_empty() => {
                    q.resource_version = Some(value.to_string())
                }
                "allowWatchBookmarks" => q.allow_bookmarks = flag(value),
                "timeoutSeconds" => q.timeout_seconds = value.parse().ok(),
                "sendInitialEvents" => q.send_initial_events = flag(value),
                "dryRun" => {
                    if value != "All" {
                        return Err(ApiError::bad_request(format!(
                            "dryRun: Unsupported value: {value:?}: supported values: \"All\""
                        )));
                    }
                    q.dry_run = true;
                }
                "fieldManager" => q.field_manager = Some(value.to_string()),
                "force" => q.force = flag(value),
                "fieldValidation" => {
                    q.field_validation = match value {
                        "Ignore" => FieldValidation::Ignore,
                        "Warn" | "" => FieldValidation::Warn,
                        "Strict" => FieldValidation::Strict,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
                            )));
                        }
                    }
                }
                "propagationPolicy" => q.propagation_policy = Some(value.to_string()),
                "follow" => q.follow = flag(value),
                "includeObject" => {
                    if !matches!(value, "None" | "Metadata" | "Object") {
                        return Err(ApiError::bad_request(format!(
                            "includeObject: Unsupported value: {value:?}: supported values: \"None\", \"Metadata\", \"Object\""
                        )));
                    }
                    q.include_object = Some(value.to_string())
                }
                other => {
                    q.log.set(other, value)?;
                }
            }
        }
        Ok(q)
    }
}

/// One resource request, parsed.
pub struct Context {
    pub state: Arc<ApiState>,
    pub rt: Arc<ResourceType>,
    pub target: Target,
    pub query: Query,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub user: User,
}

impl Context {
    pub fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }

    pub fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }

    pub fn wants_metadata(&self) -> bool {
        self.accept.contains("as=PartialObjectMetadata")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse_path(path) {
            Ok(Route::Resource(t)) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_namespaced_paths() {
        let t = target("/api/v1/namespaces/training/pods/p-1/log");
        assert_eq!(t.namespace.as_deref(), Some("training"));
        assert_eq!(t.resource, "pods");
        assert_eq!(t.name.as_deref(), Some("p-1"));
        assert_eq!(t.subresource.as_deref(), Some("log"));
        let t = target("/apis/batch/v1/watch/namespaces/training/jobs");
        assert!(t.watch_path);
        assert_eq!((t.group.as_str(), t.resource.as_str()), ("batch", "jobs"));
    }

    #[test]
    fn namespaces_are_objects_too() {
        let t = target("/api/v1/namespaces/training");
        assert_eq!(t.resource, "namespaces");
        assert_eq!(t.name.as_deref(), Some("training"));
        assert_eq!(t.namespace, None);
        let t = target("/api/v1/namespaces/training/status");
        assert_eq!(t.subresource.as_deref(), Some("status"));
        assert_eq!(t.namespace, None);
    }

    #[test]
    fn discovery_and_bad_paths() {
        assert_eq!(
            parse_path("/apis").ok(),
            Some(Route::Discovery(Discovery::Groups))
        );
        assert!(parse_path("/nope").is_err());
        assert!(parse_path("/api/v1/a/b/c/d").is_err());
    }

    #[test]
    fn query_rejects_bad_values() {
        assert!(Query::parse(Some("dryRun=Some")).is_err());
        assert!(Query::parse(Some("fieldValidation=Loud")).is_err());
        assert!(Query::parse(Some("labelSelector=a%20in%20(")).is_err());
        let q = Query::parse(Some("labelSelector=app%3Dx&limit=5&dryRun=All")).unwrap();
        assert_eq!(q.limit, Some(5));
        assert!(q.dry_run);
    }
}
