//! A view's table as data: columns, rows of text with a style slot, then the filter and the
//! sort the user chose, and how wide each column's cells are. Views build it from the
//! snapshot and it is measured in `update()`; rendering shows only the rows that fit, so a
//! 150,000-row table costs what its visible rows cost. Rows are shared (`Arc`): a filter or
//! a sort arranges the rows already built without copying them.

use std::cmp::Ordering;
use std::sync::Arc;

use regex::{Regex, RegexBuilder};

use super::theme::Slot;
pub use mlxp_core::domain::objects::Labels;
use mlxp_core::domain::selector::LabelSelector;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    /// Sorts as a number (right-aligned), not as text.
    pub numeric: bool,
    /// On a narrow terminal, columns with a rank are hidden, highest first, rather than
    /// every column cut down; 0: always shown.
    pub drop_rank: u8,
    /// A name or a status: cut only when nothing else is left to cut.
    pub keeps_width: bool,
}

impl Column {
    pub const fn text(name: &'static str) -> Self {
        Column {
            name,
            numeric: false,
            drop_rank: 0,
            keeps_width: false,
        }
    }

    pub const fn number(name: &'static str) -> Self {
        Column {
            name,
            numeric: true,
            drop_rank: 0,
            keeps_width: false,
        }
    }

    /// Hidden on a narrow terminal, before columns of a lower rank.
    pub const fn drops(mut self, rank: u8) -> Self {
        self.drop_rank = rank;
        self
    }

    /// A name or a status: what tells rows apart keeps its width first.
    pub const fn keeps(mut self) -> Self {
        self.keeps_width = true;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Identifies the object (namespace/name), for the detail pane and YAML.
    pub key: String,
    pub cells: Vec<String>,
    /// The row's colour (a status, a GPU heat) or None for plain text.
    pub slot: Option<Slot>,
    /// Labels of the object, for `-l` filters.
    pub labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Arc<Row>>,
    /// The widest cell of each column over the rows kept (0: empty on every row), measured
    /// once when arranged so that a sort, a scroll or a frame does not change a width.
    pub cell_widths: Vec<u16>,
}

/// What the user typed after `/`: `-l selector`, or a case-insensitive regex that any cell
/// may match. Text that is not a valid regex is a literal substring, as in k9s: typing
/// `train(` filters on "train(" rather than failing.
#[derive(Debug, Clone)]
pub enum Filter {
    Text(Regex),
    Labels(LabelSelector),
}

impl Filter {
    pub fn parse(input: &str) -> Result<Filter, String> {
        let input = input.trim();
        match input.strip_prefix("-l") {
            Some(selector) => LabelSelector::parse(selector.trim())
                .map(Filter::Labels)
                .map_err(|e| e.to_string()),
            None => {
                let regex = |pattern: &str| {
                    RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| e.to_string())
                };
                regex(input)
                    .or_else(|_| regex(&regex::escape(input)))
                    .map(Filter::Text)
            }
        }
    }

    fn keeps(&self, row: &Row) -> bool {
        match self {
            Filter::Text(regex) => row.cells.iter().any(|c| regex.is_match(c)),
            Filter::Labels(selector) => selector.matches(|key| row.labels.get(key)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sort {
    pub column: usize,
    pub reverse: bool,
}

impl Sort {
    /// `s`: by the next of the `shown` columns (indices, in order) after the current one,
    /// from the first again after the last.
    pub fn next(current: Option<Sort>, shown: &[usize]) -> Sort {
        let column = current
            .and_then(|s| shown.iter().find(|&&c| c > s.column))
            .or(shown.first())
            .copied()
            .unwrap_or(0);
        Sort {
            column,
            reverse: false,
        }
    }
}

impl Table {
    pub fn new(columns: Vec<Column>, rows: Vec<Row>) -> Table {
        Table {
            columns,
            rows: rows.into_iter().map(Arc::new).collect(),
            cell_widths: Vec::new(),
        }
    }

    /// The rows the filter keeps, in the chosen order, measured: a new table sharing this
    /// one's rows.
    pub fn arranged(&self, filter: Option<&Filter>, sort: Option<Sort>) -> Table {
        let mut rows: Vec<Arc<Row>> = match filter {
            Some(filter) => self
                .rows
                .iter()
                .filter(|r| filter.keeps(r))
                .cloned()
                .collect(),
            None => self.rows.clone(),
        };
        let cell_widths = (0..self.columns.len())
            .map(|i| {
                let widest = rows
                    .iter()
                    .filter_map(|r| r.cells.get(i))
                    .map(|c| c.chars().count())
                    .max();
                u16::try_from(widest.unwrap_or(0)).unwrap_or(u16::MAX)
            })
            .collect();
        if let Some(sort) = sort.filter(|s| s.column < self.columns.len()) {
            let numeric = self.columns[sort.column].numeric;
            let direct = |order: Ordering| if sort.reverse { order.reverse() } else { order };
            rows.sort_by(|a, b| {
                let (x, y) = (&a.cells[sort.column], &b.cells[sort.column]);
                if numeric {
                    by_number(x, y, direct)
                } else {
                    direct(x.cmp(y))
                }
            });
        }
        Table {
            columns: self.columns.clone(),
            rows,
            cell_widths,
        }
    }
}

/// Numbers by value (a leading number: "12/16", "83%", "1.5h") in the chosen direction,
/// then cells without one ("-", "?") as text: those stay last either way, so a reversed
/// sort shows the largest values first.
fn by_number(a: &str, b: &str, direct: impl Fn(Ordering) -> Ordering) -> Ordering {
    let lead = |s: &str| -> Option<f64> {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(s.len());
        s[..end].parse().ok()
    };
    match (lead(a), lead(b)) {
        (Some(x), Some(y)) => direct(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => direct(a.cmp(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let row = |name: &str, gpus: &str, pool: &str| Row {
            key: name.into(),
            cells: vec![name.into(), gpus.into()],
            slot: None,
            labels: [("mlxp.io/pool", pool)].into_iter().collect(),
        };
        Table::new(
            vec![Column::text("NAME"), Column::number("GPUS")],
            vec![
                row("b-node", "8/8", "training"),
                row("a-node", "12/16", "serving"),
                row("c-node", "2/8", "training"),
            ],
        )
    }

    fn names(t: &Table) -> Vec<&str> {
        t.rows.iter().map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn sorts_numbers_by_value_and_text_as_text() {
        let by_gpus = table().arranged(
            None,
            Some(Sort {
                column: 1,
                reverse: false,
            }),
        );
        assert_eq!(names(&by_gpus), ["c-node", "b-node", "a-node"]);
        let by_name_desc = table().arranged(
            None,
            Some(Sort {
                column: 0,
                reverse: true,
            }),
        );
        assert_eq!(names(&by_name_desc), ["c-node", "b-node", "a-node"]);
    }

    #[test]
    fn cells_without_a_number_stay_last_whichever_the_direction() {
        let mut t = table();
        Arc::make_mut(&mut t.rows[0]).cells[1] = "-".into();
        let sorted = |reverse| {
            let sort = Sort { column: 1, reverse };
            names(&t.clone().arranged(None, Some(sort)))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(sorted(false), ["c-node", "a-node", "b-node"]);
        assert_eq!(sorted(true), ["a-node", "c-node", "b-node"]);
    }

    #[test]
    fn filters_by_substring_or_label_selector() {
        let text = Filter::parse("A-NO").expect("filter");
        assert_eq!(names(&table().arranged(Some(&text), None)), ["a-node"]);
        let gpus = Filter::parse("^1?2/").expect("filter");
        assert_eq!(
            names(&table().arranged(Some(&gpus), None)),
            ["a-node", "c-node"]
        );
        let labels = Filter::parse("-l mlxp.io/pool=training").expect("selector");
        assert_eq!(
            names(&table().arranged(Some(&labels), None)),
            ["b-node", "c-node"]
        );
        assert!(Filter::parse("-l in (").is_err());
    }

    #[test]
    fn text_that_is_not_a_regex_is_a_literal_substring() {
        let mut t = table();
        Arc::make_mut(&mut t.rows[1]).cells[0] = "train(a)".into();
        let open = Filter::parse("TRAIN(").expect("a literal, not an error");
        assert_eq!(names(&t.arranged(Some(&open), None)), ["a-node"]);
        let star = Filter::parse("*node").expect("a literal, not an error");
        assert!(table().arranged(Some(&star), None).rows.is_empty());
    }

    #[test]
    fn widths_come_from_the_rows_kept_whatever_the_order() {
        let mut t = table();
        Arc::make_mut(&mut t.rows[1]).cells[1] = String::new();
        let sort = |reverse| Some(Sort { column: 0, reverse });
        let widths = t.clone().arranged(None, sort(false)).cell_widths;
        assert_eq!(widths, [6, 3]);
        assert_eq!(t.arranged(None, sort(true)).cell_widths, widths);
    }

    #[test]
    fn s_goes_through_the_shown_columns_only() {
        let shown = [0, 2, 5];
        let mut sort = None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let next = Sort::next(sort, &shown);
            seen.push(next.column);
            sort = Some(next);
        }
        assert_eq!(seen, [0, 2, 5, 0]);
        // A sort on a column since hidden goes on from the next shown one.
        assert_eq!(
            Sort::next(
                Some(Sort {
                    column: 3,
                    reverse: true
                }),
                &shown
            )
            .column,
            5
        );
    }
}
