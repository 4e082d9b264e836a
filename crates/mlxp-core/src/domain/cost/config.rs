//! The `[cost]` section of mlxp.toml. The documented example prices are compiled in; a
//! user's file is laid over them key by key, and a mistake is reported as "path:line: …".

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Price, PriceTable, product_key};

const DEFAULT_PATH: &str = "config/mlxp.toml";
const DEFAULT_FILE: &str = include_str!("../../../../../config/mlxp.toml");

/// A mistake in the `[cost]` section, as "path:line: message".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CostConfigError(pub String);

/// Other top-level tables belong to other modules and are ignored here.
#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    cost: CostSection,
}

/// This module owns `[cost]`, so a misspelt key there is reported, not ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CostSection {
    cpu_node: Option<PriceSection>,
    default_gpu: Option<PriceSection>,
    #[serde(default)]
    gpus: BTreeMap<String, Spanned<PriceSection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceSection {
    on_demand: Option<Spanned<f64>>,
    spot: Option<Spanned<f64>>,
}

impl PriceTable {
    /// The example prices of the compiled-in `config/mlxp.toml`.
    pub fn defaults() -> Self {
        let zero = Price {
            on_demand: 0.0,
            spot: 0.0,
        };
        PriceTable::new([], zero, zero)
            .overlay(DEFAULT_FILE, Path::new(DEFAULT_PATH))
            .expect("the compiled-in config/mlxp.toml has valid [cost] prices")
    }

    /// The defaults with the `[cost]` keys of the file at `path` (whose content is `text`)
    /// laid over them.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, CostConfigError> {
        Self::defaults().overlay(text, path)
    }

    fn overlay(mut self, text: &str, path: &Path) -> Result<Self, CostConfigError> {
        let error = |span: Option<Range<usize>>, message: &str| located(text, path, span, message);
        let sections: Sections = toml::from_str(text).map_err(|e| error(e.span(), e.message()))?;
        let cost = sections.cost;
        if let Some(section) = cost.cpu_node {
            self.cpu_node = section.over(self.cpu_node, &error)?;
        }
        if let Some(section) = cost.default_gpu {
            self.default_gpu = section.over(self.default_gpu, &error)?;
        }
        for (product, section) in cost.gpus {
            let span = section.span();
            let key = product_key(&product);
            let section = section.into_inner();
            let price = match self.gpus.get(&key) {
                Some(known) => section.over(*known, &error)?,
                None if section.on_demand.is_none() || section.spot.is_none() => {
                    return Err(error(
                        Some(span),
                        &format!("{product:?} is not a built-in product: give on_demand and spot"),
                    ));
                }
                // Both prices given: nothing of the base is kept.
                None => section.over(self.default_gpu, &error)?,
            };
            self.gpus.insert(key, price);
        }
        Ok(self)
    }
}

type Located<'a> = dyn Fn(Option<Range<usize>>, &str) -> CostConfigError + 'a;

impl PriceSection {
    /// `base` with the prices this section gives.
    fn over(self, base: Price, error: &Located) -> Result<Price, CostConfigError> {
        Ok(Price {
            on_demand: dollars(self.on_demand, error)?.unwrap_or(base.on_demand),
            spot: dollars(self.spot, error)?.unwrap_or(base.spot),
        })
    }
}

/// A price must be a finite number of dollars, zero or more.
fn dollars(value: Option<Spanned<f64>>, error: &Located) -> Result<Option<f64>, CostConfigError> {
    let Some(value) = value else { return Ok(None) };
    let dollars = *value.get_ref();
    if dollars.is_finite() && dollars >= 0.0 {
        Ok(Some(dollars))
    } else {
        Err(error(
            Some(value.span()),
            &format!("a price is dollars per hour, zero or more, not {dollars}"),
        ))
    }
}

fn located(text: &str, path: &Path, span: Option<Range<usize>>, message: &str) -> CostConfigError {
    CostConfigError(crate::domain::located::located(text, path, span, message))
}
