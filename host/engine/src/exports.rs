//! The exports a module must have for the ABI version its marker names,
//! each with exactly the type ABI.md gives.

use verdict_sdk::abi;
use wasmtime::{ExternType, Module, ValType};

use crate::error::PluginError;

/// The ABI version a module was built for, from its marker export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Abi {
    /// `verdict_abi_v1`: JSON in and out, one instance per call.
    V1,
    /// `verdict_abi_v2`: parameters once per instance (`verdict_init`), a
    /// binary envelope and decision.
    V2,
}

impl Abi {
    /// The version number, as manifests and messages write it.
    #[must_use]
    pub fn number(self) -> u32 {
        match self {
            Abi::V1 => 1,
            Abi::V2 => 2,
        }
    }
}

/// The ABI version of the module's marker, and every export that version
/// requires, with exactly its type (`ABI.md`).
pub(crate) fn check_exports(module: &Module) -> Result<Abi, PluginError> {
    use wasmtime::ValType::{I32, I64};
    let abi = match (
        module.get_export(abi::MARKER_V1).is_some(),
        module.get_export(abi::MARKER_V2).is_some(),
    ) {
        (true, false) => Abi::V1,
        (false, true) => Abi::V2,
        (true, true) => return Err(PluginError::TwoMarkers),
        (false, false) => return Err(PluginError::NoMarker),
    };
    let marker = match abi {
        Abi::V1 => abi::MARKER_V1,
        Abi::V2 => abi::MARKER_V2,
    };
    let common: [(&'static str, &[ValType], &[ValType]); 5] = [
        (marker, &[], &[]),
        (abi::ALLOC, &[I32], &[I32]),
        (abi::MANIFEST, &[], &[I64]),
        (abi::CHECK_PARAMS, &[I32, I32], &[I64]),
        (abi::EVALUATE, &[I32, I32], &[I64]),
    ];
    let v2: &[(&'static str, &[ValType], &[ValType])] = match abi {
        Abi::V1 => &[],
        Abi::V2 => &[(abi::INIT, &[I32, I32], &[I64])],
    };
    for &(name, params, results) in common.iter().chain(v2) {
        let ty = module
            .get_export(name)
            .ok_or(PluginError::MissingExport { name })?;
        let matches = ty.func().is_some_and(|func| {
            same_types(func.params(), params) && same_types(func.results(), results)
        });
        if !matches {
            return Err(PluginError::ExportType {
                name,
                expected: signature(params, results),
            });
        }
    }
    match module.get_export(abi::MEMORY) {
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => Ok(abi),
        Some(_) => Err(PluginError::ExportType {
            name: abi::MEMORY,
            expected: "a 32-bit, unshared memory".to_owned(),
        }),
        None => Err(PluginError::MissingExport { name: abi::MEMORY }),
    }
}

fn same_types(actual: impl ExactSizeIterator<Item = ValType>, expected: &[ValType]) -> bool {
    actual.len() == expected.len() && actual.zip(expected).all(|(a, b)| ValType::eq(&a, b))
}

/// `(i32, i32) -> i64`, as ABI.md writes a signature.
fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match results {
        [] => format!("a function ({}) -> ()", list(params)),
        [one] => format!("a function ({}) -> {one}", list(params)),
        many => format!("a function ({}) -> ({})", list(params), list(many)),
    }
}
