//! The load-time rewrite behind the reused-instance path (`reuse.rs`).
//!
//! A reused instance must be put back exactly as it was after instantiation
//! once a decision is made. The rewrite makes that possible without a
//! system call: every store, `memory.fill`, `memory.copy` and `memory.init`
//! into the plugin's memory first marks the granules (256 bytes) it writes
//! in a dirty map, a second memory the plugin's own code never names; and
//! every mutable global is exported so the host can read and reset it.
//!
//! Modules whose state could change in any other way are refused: a start
//! function, imports, more or fewer than one memory, a 64-bit or shared
//! memory, code that changes a table (`table.set`, `.grow`, `.fill`,
//! `.copy`, `.init`) or drops a segment (`data.drop`, `elem.drop`), lane
//! stores, and anything outside WebAssembly 2.0 (no threads, no GC, no
//! exceptions). A refused module runs in a fresh instance per call instead.

use std::fmt;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemArg,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wasmparser::{FunctionBody, Operator, Parser, Payload, Validator, WasmFeatures};

/// Granules are `1 << GRANULE_SHIFT` bytes of the plugin's memory.
pub(crate) const GRANULE_SHIFT: u32 = 8;

/// The widest single store (`v128.store`), in bytes: a store that starts in
/// a granule may write this many bytes less one past its end.
pub(crate) const WIDEST_STORE: usize = 16;

/// The export through which the host reads the dirty map.
pub(crate) const DIRTY_MAP_EXPORT: &str = "verdict-reuse:dirty-map";

/// Mutable global `i` is exported as this prefix followed by `i`.
const GLOBAL_EXPORT_PREFIX: &str = "verdict-reuse:global:";

/// The only features an instrumented module may use: WebAssembly 2.0. A
/// module that needs more is not rewritten.
const FEATURES: WasmFeatures = WasmFeatures::WASM2;

/// A module rewritten for reuse, and what the host needs to restore it.
#[derive(Debug, Clone)]
pub(crate) struct Instrumented {
    /// The rewritten module, validated.
    pub(crate) bytes: Vec<u8>,
    /// Export names of the module's mutable globals.
    pub(crate) globals: Vec<String>,
    /// Bytes of the plugin's memory the dirty map tells apart. A memory
    /// larger than this when a decision starts cannot be restored.
    pub(crate) covered_bytes: u64,
}

/// Why a module cannot be rewritten for reused instances.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not a valid WebAssembly 2.0 module (or WebAssembly text that does
    /// not parse).
    Invalid(String),
    /// It imports something.
    Imports,
    /// It has a start function.
    Start,
    /// It defines this many memories, not exactly one.
    Memories(usize),
    /// Its memory is 64-bit or shared.
    MemoryKind,
    /// Its code uses this instruction, whose effect the rewrite does not
    /// track or undo.
    Instruction(&'static str),
    /// It already exports a name the rewrite reserves.
    ReservedName(String),
    /// The rewritten module did not validate.
    Rewrite(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(why) => write!(f, "not a valid WebAssembly 2.0 module: {why}"),
            Refusal::Imports => f.write_str("it imports something"),
            Refusal::Start => f.write_str("it has a start function"),
            Refusal::Memories(n) => write!(f, "it defines {n} memories, not one"),
            Refusal::MemoryKind => f.write_str("its memory is 64-bit or shared"),
            Refusal::Instruction(name) => write!(f, "it uses `{name}`"),
            Refusal::ReservedName(name) => write!(f, "it exports `{name}`, a reserved name"),
            Refusal::Rewrite(why) => write!(f, "the rewritten module is invalid: {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Whether a module opts in to the reused-instance path: it exports the
/// ABI v2 marker. Depends on the module bytes alone, so a module runs the
/// same code on every machine and every replay.
pub(crate) fn fast_path_eligible(bytes: &[u8]) -> bool {
    let Ok(binary) = wat::parse_bytes(bytes) else {
        return false;
    };
    Parser::new(0)
        .parse_all(&binary)
        .any(|payload| match payload {
            Ok(Payload::ExportSection(exports)) => exports
                .into_iter()
                .any(|e| e.is_ok_and(|e| e.name == verdict_sdk::abi::MARKER_V2)),
            _ => false,
        })
}

/// Rewrites a module (binary or text) for reuse, or says why it cannot be.
pub(crate) fn instrument(bytes: &[u8]) -> Result<Instrumented, Refusal> {
    let binary = wat::parse_bytes(bytes).map_err(|e| Refusal::Invalid(e.to_string()))?;
    Validator::new_with_features(FEATURES)
        .validate_all(&binary)
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    let shape = Shape::read(&binary)?;
    let covered_bytes = covered_bytes(shape.initial_pages);
    let map_entries = covered_bytes >> GRANULE_SHIFT;
    let mut rewriter = Rewriter {
        mask: u32::try_from(map_entries - 1).unwrap_or(u32::MAX),
        map_pages: map_entries.div_ceil(1 << 16),
        helper_type: shape.func_types.len() as u32,
        helper: shape.functions.len() as u32,
        next_function: 0,
        shape: &shape,
    };
    let mut module = Module::new();
    rewriter
        .parse_core_module(&mut module, Parser::new(0), &binary)
        .map_err(|e| match e {
            ReencodeError::UserError(refusal) => refusal,
            other => Refusal::Invalid(other.to_string()),
        })?;
    let bytes = module.finish();
    Validator::new_with_features(FEATURES | WasmFeatures::MULTI_MEMORY)
        .validate_all(&bytes)
        .map_err(|e| Refusal::Rewrite(e.to_string()))?;
    Ok(Instrumented {
        bytes,
        globals: shape
            .mutable_globals
            .iter()
            .map(|&g| global_export(g))
            .collect(),
        covered_bytes,
    })
}

/// The memory the dirty map covers: four times the initial memory rounded
/// up to a power of two (room for growth inside a decision's own
/// instance), at most the whole 32-bit address space. A power of two, so a
/// granule index is masked rather than checked.
fn covered_bytes(initial_pages: u64) -> u64 {
    let initial = (initial_pages << 16).max(1 << 16);
    (initial.next_power_of_two() * 4).min(1 << 32)
}

/// Whether an export was added by the rewrite (so is not the plugin's own).
pub(crate) fn is_added_export(name: &str) -> bool {
    name == DIRTY_MAP_EXPORT || name.starts_with(GLOBAL_EXPORT_PREFIX)
}

fn global_export(index: u32) -> String {
    format!("{GLOBAL_EXPORT_PREFIX}{index}")
}

/// What the rewrite needs to know of a module before it rewrites it.
struct Shape {
    /// Parameter count of each type (all function types in WebAssembly 2.0).
    func_types: Vec<u32>,
    /// Type index of each defined function.
    functions: Vec<u32>,
    /// Indices of the mutable globals.
    mutable_globals: Vec<u32>,
    /// The memory's initial size, in 64 KiB pages.
    initial_pages: u64,
}

impl Shape {
    fn read(binary: &[u8]) -> Result<Shape, Refusal> {
        let invalid = |e: wasmparser::BinaryReaderError| Refusal::Invalid(e.to_string());
        let mut shape = Shape {
            func_types: Vec::new(),
            functions: Vec::new(),
            mutable_globals: Vec::new(),
            initial_pages: 0,
        };
        let mut memories = Vec::new();
        for payload in Parser::new(0).parse_all(binary) {
            match payload.map_err(invalid)? {
                Payload::TypeSection(types) => {
                    for ty in types.into_iter_err_on_gc_types() {
                        shape
                            .func_types
                            .push(ty.map_err(invalid)?.params().len() as u32);
                    }
                }
                Payload::ImportSection(imports) if imports.count() > 0 => {
                    return Err(Refusal::Imports);
                }
                Payload::FunctionSection(functions) => {
                    for ty in functions {
                        shape.functions.push(ty.map_err(invalid)?);
                    }
                }
                Payload::MemorySection(section) => {
                    for memory in section {
                        memories.push(memory.map_err(invalid)?);
                    }
                }
                Payload::GlobalSection(globals) => {
                    for (index, global) in globals.into_iter().enumerate() {
                        if global.map_err(invalid)?.ty.mutable {
                            shape.mutable_globals.push(index as u32);
                        }
                    }
                }
                Payload::ExportSection(exports) => {
                    for export in exports {
                        let export = export.map_err(invalid)?;
                        if is_added_export(export.name) {
                            return Err(Refusal::ReservedName(export.name.to_owned()));
                        }
                    }
                }
                Payload::StartSection { .. } => return Err(Refusal::Start),
                _ => {}
            }
        }
        let [memory] = memories[..] else {
            return Err(Refusal::Memories(memories.len()));
        };
        if memory.memory64 || memory.shared || memory.page_size_log2.is_some() {
            return Err(Refusal::MemoryKind);
        }
        shape.initial_pages = memory.initial;
        Ok(shape)
    }
}

/// The reencoder that adds the dirty map, the marking code and the global
/// exports.
struct Rewriter<'a> {
    shape: &'a Shape,
    /// Granule indices are masked to this (map entries - 1).
    mask: u32,
    map_pages: u64,
    /// The type and function index of the range-marking helper, appended
    /// after the module's own.
    helper_type: u32,
    helper: u32,
    next_function: usize,
}

/// The plugin's memory and the dirty map's index.
const PLUGIN_MEMORY: u32 = 0;
const DIRTY_MAP: u32 = 1;

impl Reencode for Rewriter<'_> {
    type Error = Refusal;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        RoundtripReencoder
            .parse_type_section(types, section)
            .map_err(roundtrip)?;
        types.ty().function([ValType::I32, ValType::I32], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        RoundtripReencoder
            .parse_function_section(functions, section)
            .map_err(roundtrip)?;
        functions.function(self.helper_type);
        Ok(())
    }

    fn parse_memory_section(
        &mut self,
        memories: &mut MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        RoundtripReencoder
            .parse_memory_section(memories, section)
            .map_err(roundtrip)?;
        memories.memory(MemoryType {
            minimum: self.map_pages,
            maximum: Some(self.map_pages),
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        RoundtripReencoder
            .parse_export_section(exports, section)
            .map_err(roundtrip)?;
        exports.export(DIRTY_MAP_EXPORT, ExportKind::Memory, DIRTY_MAP);
        for &global in &self.shape.mutable_globals {
            exports.export(&global_export(global), ExportKind::Global, global);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        for body in section {
            self.parse_function_body(code, body?)?;
        }
        code.function(&self.mark_range());
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        let type_index = self.shape.functions[self.next_function];
        self.next_function += 1;
        let params = self.shape.func_types[type_index as usize];
        let mut locals = Vec::new();
        let mut declared = 0;
        for pair in body.get_locals_reader()? {
            let (count, ty) = pair?;
            declared += count;
            locals.push((count, RoundtripReencoder.val_type(ty).map_err(roundtrip)?));
        }
        let mut uses_v128_store = false;
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            uses_v128_store |= matches!(reader.read()?, Operator::V128Store { .. });
        }
        let scratch = Scratch::after(params + declared);
        locals.extend([
            (3, ValType::I32),
            (1, ValType::I64),
            (1, ValType::F32),
            (1, ValType::F64),
        ]);
        if uses_v128_store {
            locals.push((1, ValType::V128));
        }
        let mut function = Function::new(locals);
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let operator = reader.read()?;
            self.rewrite(&mut function, &scratch, operator)?;
        }
        code.function(&function);
        Ok(())
    }

    fn start_section(&mut self, _start: u32) -> Result<u32, ReencodeError<Refusal>> {
        Err(ReencodeError::UserError(Refusal::Start))
    }
}

/// Scratch locals appended to every function.
struct Scratch {
    address: u32,
    second: u32,
    length: u32,
    i64: u32,
    f32: u32,
    f64: u32,
    v128: u32,
}

impl Scratch {
    fn after(first: u32) -> Scratch {
        Scratch {
            address: first,
            second: first + 1,
            length: first + 2,
            i64: first + 3,
            f32: first + 4,
            f64: first + 5,
            v128: first + 6,
        }
    }
}

fn roundtrip(error: ReencodeError) -> ReencodeError<Refusal> {
    match error {
        ReencodeError::ParseError(e) => ReencodeError::ParseError(e),
        other => ReencodeError::UserError(Refusal::Invalid(other.to_string())),
    }
}

impl Rewriter<'_> {
    /// Emits `operator`, preceded by the marking of what it writes.
    fn rewrite(
        &mut self,
        function: &mut Function,
        scratch: &Scratch,
        operator: Operator<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        let refuse = |name| Err(ReencodeError::UserError(Refusal::Instruction(name)));
        let value = match &operator {
            Operator::I32Store { memarg }
            | Operator::I32Store8 { memarg }
            | Operator::I32Store16 { memarg } => Some((scratch.second, memarg)),
            Operator::I64Store { memarg }
            | Operator::I64Store8 { memarg }
            | Operator::I64Store16 { memarg }
            | Operator::I64Store32 { memarg } => Some((scratch.i64, memarg)),
            Operator::F32Store { memarg } => Some((scratch.f32, memarg)),
            Operator::F64Store { memarg } => Some((scratch.f64, memarg)),
            Operator::V128Store { memarg } => Some((scratch.v128, memarg)),
            Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. } => {
                // [destination, source or value, length]: mark the
                // destination range, then do the operation.
                let s = scratch;
                for i in [
                    Instruction::LocalSet(s.length),
                    Instruction::LocalSet(s.second),
                    Instruction::LocalTee(s.address),
                    Instruction::LocalGet(s.length),
                    Instruction::Call(self.helper),
                    Instruction::LocalGet(s.address),
                    Instruction::LocalGet(s.second),
                    Instruction::LocalGet(s.length),
                ] {
                    function.instruction(&i);
                }
                None
            }
            Operator::TableSet { .. } => return refuse("table.set"),
            Operator::TableGrow { .. } => return refuse("table.grow"),
            Operator::TableFill { .. } => return refuse("table.fill"),
            Operator::TableCopy { .. } => return refuse("table.copy"),
            Operator::TableInit { .. } => return refuse("table.init"),
            Operator::ElemDrop { .. } => return refuse("elem.drop"),
            Operator::DataDrop { .. } => return refuse("data.drop"),
            Operator::V128Store8Lane { .. }
            | Operator::V128Store16Lane { .. }
            | Operator::V128Store32Lane { .. }
            | Operator::V128Store64Lane { .. } => return refuse("v128.storeN_lane"),
            _ => None,
        };
        if let Some((local, memarg)) = value {
            if memarg.memory != PLUGIN_MEMORY {
                return refuse("a second memory");
            }
            // [address, value]: keep both, mark the granule of
            // address + offset (wrapping: an address past 4 GiB traps in
            // the store itself), then store.
            function.instruction(&Instruction::LocalSet(local));
            function.instruction(&Instruction::LocalTee(scratch.address));
            if memarg.offset != 0 {
                function.instruction(&Instruction::I32Const(memarg.offset as u32 as i32));
                function.instruction(&Instruction::I32Add);
            }
            for i in self.mark_granule() {
                function.instruction(&i);
            }
            function.instruction(&Instruction::LocalGet(scratch.address));
            function.instruction(&Instruction::LocalGet(local));
        }
        function.instruction(&self.instruction(operator)?);
        Ok(())
    }

    /// [address] -> []: sets the address's granule in the dirty map. The
    /// index is masked: granules past the map exist only in a memory grown
    /// past it, whose instance is never reused.
    fn mark_granule(&self) -> [Instruction<'static>; 6] {
        [
            Instruction::I32Const(GRANULE_SHIFT as i32),
            Instruction::I32ShrU,
            Instruction::I32Const(self.mask as i32),
            Instruction::I32And,
            Instruction::I32Const(1),
            Instruction::I32Store8(MemArg {
                offset: 0,
                align: 0,
                memory_index: DIRTY_MAP,
            }),
        ]
    }

    /// `(destination, length)`: marks every granule of a range about to be
    /// written in bulk. An empty range marks nothing; a range past the end
    /// of memory marks nothing either, since the operation then traps.
    fn mark_range(&self) -> Function {
        const DEST: u32 = 0;
        const LEN: u32 = 1;
        const FIRST: u32 = 2;
        const LAST: u32 = 3;
        use Instruction as I;
        let mask = self.mask as i32;
        let shift = GRANULE_SHIFT as i32;
        let mut f = Function::new([(2, ValType::I32)]);
        for i in [
            I::Block(wasm_encoder::BlockType::Empty),
            I::LocalGet(LEN),
            I::I32Eqz,
            I::BrIf(0),
            // destination + length > memory size (in 64 bits): it traps.
            I::LocalGet(DEST),
            I::I64ExtendI32U,
            I::LocalGet(LEN),
            I::I64ExtendI32U,
            I::I64Add,
            I::MemorySize(PLUGIN_MEMORY),
            I::I64ExtendI32U,
            I::I64Const(16),
            I::I64Shl,
            I::I64GtU,
            I::BrIf(0),
            I::LocalGet(DEST),
            I::I32Const(shift),
            I::I32ShrU,
            I::LocalTee(FIRST),
            I::I32Const(mask),
            I::I32GtU,
            I::BrIf(0),
            // The last byte written: destination + length - 1 (wrapping
            // only when the range ends exactly at 4 GiB, to the right byte).
            I::LocalGet(DEST),
            I::LocalGet(LEN),
            I::I32Add,
            I::I32Const(1),
            I::I32Sub,
            I::I32Const(shift),
            I::I32ShrU,
            I::LocalTee(LAST),
            I::I32Const(mask),
            I::I32GtU,
            I::If(wasm_encoder::BlockType::Empty),
            I::I32Const(mask),
            I::LocalSet(LAST),
            I::End,
            I::LocalGet(FIRST),
            I::I32Const(1),
            I::LocalGet(LAST),
            I::LocalGet(FIRST),
            I::I32Sub,
            I::I32Const(1),
            I::I32Add,
            I::MemoryFill(DIRTY_MAP),
            I::End,
            I::End,
        ] {
            f.instruction(&i);
        }
        f
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn rewrite(wat: &str) -> Result<Instrumented, Refusal> {
        instrument(wat.as_bytes())
    }

    /// The rewritten module's text, for checking what was added.
    fn text(instrumented: &Instrumented) -> String {
        wasmprinter_free_text(&instrumented.bytes)
    }

    /// Instructions of every function, as wasmparser names them.
    fn wasmprinter_free_text(bytes: &[u8]) -> String {
        let mut out = String::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.expect("the rewritten module parses") {
                Payload::CodeSectionEntry(body) => {
                    out.push_str("func\n");
                    let mut reader = body.get_operators_reader().expect("operators");
                    while !reader.eof() {
                        out.push_str(&format!("  {:?}\n", reader.read().expect("operator")));
                    }
                }
                Payload::ExportSection(exports) => {
                    for e in exports {
                        let e = e.expect("export");
                        out.push_str(&format!("export {} {:?} {}\n", e.name, e.kind, e.index));
                    }
                }
                Payload::MemorySection(memories) => {
                    for m in memories {
                        let m = m.expect("memory");
                        out.push_str(&format!("memory {} {:?}\n", m.initial, m.maximum));
                    }
                }
                _ => {}
            }
        }
        out
    }

    const STORES: &str = r#"(module
      (memory (export "memory") 2)
      (global $sp (mut i32) (i32.const 1024))
      (global $k i32 (i32.const 7))
      (global $wide (mut i64) (i64.const 0))
      (func (export "f") (param $p i32)
        (i32.store offset=8 (local.get $p) (i32.const 1))
        (i64.store (local.get $p) (i64.const 2))
        (f32.store (local.get $p) (f32.const 3))
        (f64.store (local.get $p) (f64.const 4))
        (i32.store8 (local.get $p) (i32.const 5))
        (i32.store16 (local.get $p) (i32.const 6))
        (i64.store8 (local.get $p) (i64.const 7))
        (i64.store16 (local.get $p) (i64.const 8))
        (i64.store32 (local.get $p) (i64.const 9))
        (v128.store (local.get $p) (v128.const i64x2 1 2))
        (memory.fill (local.get $p) (i32.const 0) (i32.const 10))
        (memory.copy (local.get $p) (i32.const 0) (i32.const 10))
        (memory.init $d (local.get $p) (i32.const 0) (i32.const 2)))
      (data $d "hi"))"#;

    #[test]
    fn every_store_width_and_bulk_write_is_marked() {
        let instrumented = rewrite(STORES).expect("eligible");
        let text = text(&instrumented);
        // Ten stores, each preceded by one mark in memory 1.
        let marks = text
            .matches(
                "I32Store8 { memarg: MemArg { align: 0, max_align: 0, offset: 0, memory: 1 } }",
            )
            .count();
        assert_eq!(marks, 10, "{text}");
        // The three bulk writes call the helper (function 1: after `f`).
        assert_eq!(
            text.matches("Call { function_index: 1 }").count(),
            3,
            "{text}"
        );
        // The helper fills the dirty map.
        assert!(text.contains("MemoryFill { mem: 1 }"), "{text}");
        // The static offset is added before the granule is taken.
        assert!(
            text.contains("I32Const { value: 8 }\n  I32Add\n  I32Const { value: 8 }\n  I32ShrU"),
            "{text}"
        );
    }

    #[test]
    fn mutable_globals_and_the_dirty_map_are_exported() {
        let instrumented = rewrite(STORES).expect("eligible");
        assert_eq!(
            instrumented.globals,
            ["verdict-reuse:global:0", "verdict-reuse:global:2"]
        );
        let text = text(&instrumented);
        assert!(
            text.contains("export verdict-reuse:dirty-map Memory 1"),
            "{text}"
        );
        assert!(
            text.contains("export verdict-reuse:global:0 Global 0"),
            "{text}"
        );
        assert!(
            text.contains("export verdict-reuse:global:2 Global 2"),
            "{text}"
        );
        assert!(
            !text.contains("Global 1"),
            "the immutable global stays unexported: {text}"
        );
        // 2 pages -> 128 KiB, times 4 = 512 KiB covered: 2 KiB of map, one page.
        assert_eq!(instrumented.covered_bytes, 512 << 10);
        assert!(text.contains("memory 2 None\nmemory 1 Some(1)"), "{text}");
    }

    #[test]
    fn coverage_is_a_power_of_two_within_four_gib() {
        assert_eq!(covered_bytes(0), 256 << 10);
        assert_eq!(covered_bytes(1), 256 << 10);
        assert_eq!(covered_bytes(17), 8 << 20);
        assert_eq!(covered_bytes(65536), 1 << 32);
    }

    fn refused(wat: &str) -> Refusal {
        rewrite(wat).expect_err("not eligible")
    }

    #[test]
    fn table_mutation_is_refused() {
        for (body, name) in [
            ("(table.set (i32.const 0) (ref.null func))", "table.set"),
            (
                "(drop (table.grow (ref.null func) (i32.const 1)))",
                "table.grow",
            ),
            (
                "(table.fill (i32.const 0) (ref.null func) (i32.const 1))",
                "table.fill",
            ),
            (
                "(table.copy (i32.const 0) (i32.const 0) (i32.const 1))",
                "table.copy",
            ),
        ] {
            let wat = format!(r#"(module (memory 1) (table 2 funcref) (func {body}))"#);
            assert_eq!(refused(&wat), Refusal::Instruction(name), "{body}");
        }
    }

    #[test]
    fn dropped_segments_are_refused() {
        assert_eq!(
            refused(r#"(module (memory 1) (data $d "x") (func (data.drop $d)))"#),
            Refusal::Instruction("data.drop")
        );
        assert_eq!(
            refused(
                r#"(module (memory 1) (table 1 funcref) (elem $e func $f) (func $f (elem.drop $e)))"#
            ),
            Refusal::Instruction("elem.drop")
        );
        assert_eq!(
            refused(
                r#"(module (memory 1) (table 1 funcref) (elem $e func $f) (func $f (table.init $e (i32.const 0) (i32.const 0) (i32.const 1))))"#
            ),
            Refusal::Instruction("table.init")
        );
    }

    #[test]
    fn unusual_modules_are_refused() {
        assert_eq!(
            refused("(module (memory 1) (func $s) (start $s))"),
            Refusal::Start
        );
        assert_eq!(refused("(module (func))"), Refusal::Memories(0));
        assert_eq!(
            refused(r#"(module (import "env" "f" (func)) (memory 1))"#),
            Refusal::Imports
        );
        assert!(matches!(
            refused("(module (memory 1) (memory 1))"),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused("(module (memory i64 1))"),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused("(module (memory 1 1 shared))"),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused("(module (memory 1) (func (drop (i32.atomic.load (i32.const 0)))))"),
            Refusal::Invalid(_)
        ));
        assert_eq!(
            refused(
                r#"(module (memory 1) (func (v128.store8_lane 0 (i32.const 0) (v128.const i64x2 0 0))))"#
            ),
            Refusal::Instruction("v128.storeN_lane")
        );
        assert_eq!(
            refused(r#"(module (memory 1) (func (export "verdict-reuse:dirty-map")))"#),
            Refusal::ReservedName(DIRTY_MAP_EXPORT.to_owned())
        );
        assert!(matches!(refused("not wasm"), Refusal::Invalid(_)));
    }

    #[test]
    fn a_module_with_read_only_tables_and_passive_data_is_eligible() {
        let instrumented = rewrite(
            r#"(module (memory 1) (table 1 funcref) (elem (i32.const 0) $f) (data $d "x")
                 (func $f (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
                   (call_indirect (i32.const 0))))"#,
        )
        .expect("eligible");
        assert!(instrumented.globals.is_empty());
    }

    #[test]
    fn only_the_v2_marker_opts_in() {
        assert!(fast_path_eligible(
            br#"(module (func (export "verdict_abi_v2")))"#
        ));
        assert!(!fast_path_eligible(
            br#"(module (func (export "verdict_abi_v1")))"#
        ));
        assert!(!fast_path_eligible(b"not wasm"));
    }
}
