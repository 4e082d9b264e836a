//! Records as a table for people: a column per field, lists as joined text, and a list of
//! objects (a queue's flavors, a route's versions) as sub-rows under its record, labelled
//! with the field's name. Never JSON in a cell.

use super::ordered::Json;

pub fn table(rows: &[Json]) -> String {
    let records: Vec<&[(String, Json)]> = rows
        .iter()
        .filter_map(|r| match r {
            Json::Object(fields) => Some(fields.as_slice()),
            _ => None,
        })
        .collect();
    let Some(first) = records.first() else {
        return "No resources found\n".into();
    };
    let names: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    // A field goes under its record when some record has objects in it.
    let (nested, columns): (Vec<&str>, Vec<&str>) = names.iter().partition(|name| {
        records
            .iter()
            .any(|r| field(r, name).is_some_and(holds_objects))
    });
    let main_rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| columns.iter().map(|c| cell(field(r, c))).collect())
        .collect();
    let main = Grid::new(upper(&columns), &main_rows);
    let subs: Vec<Sub> = nested.iter().map(|name| Sub::new(name, &records)).collect();
    let label_width = nested.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut out = main.line(&main.headers);
    for (i, row) in main_rows.iter().enumerate() {
        out += &main.line(row);
        for sub in &subs {
            let label = format!("  {:<label_width$}  ", sub.name);
            let items = &sub.rows[i];
            if items.is_empty() {
                out += &format!("{label}none\n");
                continue;
            }
            out += &label;
            out += &sub.grid.line(&sub.grid.headers);
            let indent = " ".repeat(label.len());
            for item in items {
                out += &indent;
                out += &sub.grid.line(item);
            }
        }
    }
    out
}

/// One nested field over every record: its column headers and each record's rows.
struct Sub<'a> {
    name: &'a str,
    grid: Grid,
    rows: Vec<Vec<Vec<String>>>,
}

impl<'a> Sub<'a> {
    fn new(name: &'a str, records: &[&[(String, Json)]]) -> Self {
        let items = |r: &[(String, Json)]| -> Vec<Json> {
            match field(r, name) {
                Some(Json::Array(items)) => items.clone(),
                _ => Vec::new(),
            }
        };
        // The columns of the first object found.
        let columns: Vec<String> = records
            .iter()
            .flat_map(|r| items(r))
            .find_map(|item| match item {
                Json::Object(fields) => Some(fields.into_iter().map(|(k, _)| k).collect()),
                _ => None,
            })
            .unwrap_or_default();
        let rows: Vec<Vec<Vec<String>>> = records
            .iter()
            .map(|r| {
                items(r)
                    .iter()
                    .map(|item| match item {
                        Json::Object(fields) => {
                            columns.iter().map(|c| cell(field(fields, c))).collect()
                        }
                        other => vec![cell(Some(other))],
                    })
                    .collect()
            })
            .collect();
        let all: Vec<Vec<String>> = rows.iter().flatten().cloned().collect();
        let headers = columns.iter().map(|c| c.to_uppercase()).collect();
        Sub {
            name,
            grid: Grid::new(headers, &all),
            rows,
        }
    }
}

/// Column widths for a header and rows.
struct Grid {
    headers: Vec<String>,
    widths: Vec<usize>,
}

impl Grid {
    fn new(headers: Vec<String>, rows: &[Vec<String>]) -> Self {
        let widths = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .chain([h.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        Grid { headers, widths }
    }

    /// The cells padded to their columns, three spaces apart, as one line.
    fn line(&self, cells: &[String]) -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&self.widths)
            .map(|(text, width)| format!("{text:<width$}"))
            .collect();
        format!("{}\n", padded.join("   ").trim_end())
    }
}

fn field<'a>(fields: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn holds_objects(value: &Json) -> bool {
    matches!(value, Json::Array(items) if items.iter().any(|i| matches!(i, Json::Object(_))))
}

fn upper(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_uppercase()).collect()
}

/// A value as people read it: `-` for nothing, numbers to three decimals at most, lists
/// joined with commas, objects as `key=value`.
fn cell(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => "-".into(),
        Some(Json::Bool(b)) => b.to_string(),
        Some(Json::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            _ => n.to_string(),
        },
        Some(Json::String(s)) => s.clone(),
        Some(Json::Array(items)) if items.is_empty() => "-".into(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Json::Object(fields)) => fields
            .iter()
            .map(|(k, v)| format!("{k}={}", cell(Some(v))))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Json> {
        serde_json::from_str(text).expect("rows")
    }

    #[test]
    fn fields_are_aligned_columns_and_lists_joined_text() {
        let rows = rows(
            r#"[{"name": "gpu-1", "gpus": 8, "util": 74.25, "taints": ["a:NoSchedule", "b:NoExecute"], "pod": null},
                {"name": "cpu-1", "gpus": 0, "util": 45.0, "taints": [], "pod": "a/b"}]"#,
        );
        assert_eq!(
            table(&rows),
            "NAME    GPUS   UTIL    TAINTS                      POD\n\
             gpu-1   8      74.25   a:NoSchedule, b:NoExecute   -\n\
             cpu-1   0      45      -                           a/b\n"
        );
        assert_eq!(table(&[]), "No resources found\n");
    }

    #[test]
    fn lists_of_objects_are_sub_rows_under_their_record() {
        let rows = rows(
            r#"[{"name": "training", "strategy": "BestEffortFIFO",
                 "flavors": [{"flavor": "h100-spot", "gpu_quota": 40, "gpu_used": 32},
                             {"flavor": "h100-ondemand", "gpu_quota": 16, "gpu_used": 9}],
                 "pending": [{"workload": "training/w1", "gpus": 16, "reason": "no quota"}]},
                {"name": "dev", "strategy": "StrictFIFO",
                 "flavors": [{"flavor": "l4", "gpu_quota": 4, "gpu_used": 0}], "pending": []}]"#,
        );
        assert_eq!(
            table(&rows),
            "NAME       STRATEGY\n\
             training   BestEffortFIFO\n\
             \x20 flavors  FLAVOR          GPU_QUOTA   GPU_USED\n\
             \x20          h100-spot       40          32\n\
             \x20          h100-ondemand   16          9\n\
             \x20 pending  WORKLOAD      GPUS   REASON\n\
             \x20          training/w1   16     no quota\n\
             dev        StrictFIFO\n\
             \x20 flavors  FLAVOR          GPU_QUOTA   GPU_USED\n\
             \x20          l4              4           0\n\
             \x20 pending  none\n"
        );
    }
}
