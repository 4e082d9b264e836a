//! `/openapi/v2`, as much of it as kubectl 1.27 and 1.28 need.
//!
//! Those versions read the v2 document (protobuf, gnostic's `openapi_v2.Document`) before any
//! `create -f` or `apply -f`, and stop with "the server could not find the requested resource"
//! when it is missing. They look in it for one thing: whether the PATCH operation of the
//! object's kind (found by its `x-kubernetes-group-version-kind`) takes `fieldValidation`; if it
//! does, the server validates and kubectl sends `fieldValidation=Strict`. So the document lists
//! that operation for every kind and no schemas: kubectl then has no schema of its own to
//! validate against and leaves validation to this server, as with a real one.

use crate::resources::ResourceType;

/// Field numbers of gnostic's OpenAPIv2.proto.
mod field {
    pub const DOCUMENT_SWAGGER: u32 = 1;
    pub const DOCUMENT_PATHS: u32 = 8;
    pub const PATHS_PATH: u32 = 2;
    pub const NAMED_NAME: u32 = 1;
    pub const NAMED_VALUE: u32 = 2;
    pub const PATH_ITEM_PATCH: u32 = 8;
    pub const OPERATION_ID: u32 = 5;
    pub const OPERATION_PARAMETERS: u32 = 8;
    pub const OPERATION_VENDOR_EXTENSION: u32 = 13;
    pub const PARAMETERS_ITEM_PARAMETER: u32 = 1;
    pub const PARAMETER_NON_BODY: u32 = 2;
    pub const NON_BODY_QUERY: u32 = 3;
    pub const QUERY_IN: u32 = 2;
    pub const QUERY_NAME: u32 = 4;
    pub const QUERY_TYPE: u32 = 6;
    pub const ANY_YAML: u32 = 2;
}

/// The document, protobuf-encoded.
pub fn document<'a>(types: impl Iterator<Item = &'a ResourceType>) -> Vec<u8> {
    let mut paths = Vec::new();
    for t in types {
        let mut item = Vec::new();
        put_bytes(&mut item, field::NAMED_NAME, item_path(t).as_bytes());
        put_bytes(&mut item, field::NAMED_VALUE, &path_item(t));
        put_bytes(&mut paths, field::PATHS_PATH, &item);
    }
    let mut doc = Vec::new();
    put_bytes(&mut doc, field::DOCUMENT_SWAGGER, b"2.0");
    put_bytes(&mut doc, field::DOCUMENT_PATHS, &paths);
    doc
}

/// `/api/v1/namespaces/{namespace}/pods/{name}`, `/apis/batch/v1/jobs/{name}` …
fn item_path(t: &ResourceType) -> String {
    let base = if t.group.is_empty() {
        format!("/api/{}", t.version)
    } else {
        format!("/apis/{}/{}", t.group, t.version)
    };
    let namespace = if t.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    format!("{base}{namespace}/{}/{{name}}", t.plural)
}

fn path_item(t: &ResourceType) -> Vec<u8> {
    let mut query = Vec::new();
    put_bytes(&mut query, field::QUERY_IN, b"query");
    put_bytes(&mut query, field::QUERY_NAME, b"fieldValidation");
    put_bytes(&mut query, field::QUERY_TYPE, b"string");
    let mut non_body = Vec::new();
    put_bytes(&mut non_body, field::NON_BODY_QUERY, &query);
    let mut parameter = Vec::new();
    put_bytes(&mut parameter, field::PARAMETER_NON_BODY, &non_body);
    let mut parameters_item = Vec::new();
    put_bytes(
        &mut parameters_item,
        field::PARAMETERS_ITEM_PARAMETER,
        &parameter,
    );

    let gvk = format!(
        "group: \"{}\"\nkind: {}\nversion: {}\n",
        t.group, t.kind, t.version
    );
    let mut any = Vec::new();
    put_bytes(&mut any, field::ANY_YAML, gvk.as_bytes());
    let mut extension = Vec::new();
    put_bytes(
        &mut extension,
        field::NAMED_NAME,
        b"x-kubernetes-group-version-kind",
    );
    put_bytes(&mut extension, field::NAMED_VALUE, &any);

    let mut operation = Vec::new();
    let id = format!("patch{}", t.kind);
    put_bytes(&mut operation, field::OPERATION_ID, id.as_bytes());
    put_bytes(
        &mut operation,
        field::OPERATION_PARAMETERS,
        &parameters_item,
    );
    put_bytes(
        &mut operation,
        field::OPERATION_VENDOR_EXTENSION,
        &extension,
    );
    let mut item = Vec::new();
    put_bytes(&mut item, field::PATH_ITEM_PATCH, &operation);
    item
}

/// A length-delimited field (wire type 2): strings, bytes and messages.
fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, (u64::from(field) << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn every_kind_has_a_patch_operation_taking_field_validation() {
        let registry = Registry::with_builtins();
        let doc = document(registry.all().map(|t| &**t));
        // Names and values are plain text in the encoding.
        let text = String::from_utf8_lossy(&doc);
        assert!(text.contains("/api/v1/namespaces/{namespace}/configmaps/{name}"));
        assert!(text.contains("/api/v1/nodes/{name}"));
        assert!(text.contains("/apis/batch/v1/namespaces/{namespace}/jobs/{name}"));
        assert!(text.contains("group: \"batch\"\nkind: Job\nversion: v1\n"));
        assert_eq!(
            text.matches("fieldValidation").count(),
            registry.all().count()
        );
        // Starts with swagger "2.0" (field 1, length 3) then paths (field 8).
        assert_eq!(&doc[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert_eq!(doc[5], (8 << 3) | 2);
    }

    #[test]
    fn varints_take_seven_bits_a_byte() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}
