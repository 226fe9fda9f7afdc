//! Every reader of untrusted input, fed mutated real files: scenario documents, rules, event
//! JSON, share links, NDJSON, KurrentDB, CloudEvents and fixtures. None may panic, and every
//! refusal must say where. The quick test runs a few thousand inputs per reader in CI;
//! `scripts/fuzz` runs the ignored one with `FUZZ_INPUTS` (default 1,000,000) per reader.
#![cfg(not(target_arch = "wasm32"))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Instant;

use es_sandbox::interchange::{self, Fixture, Format, ImportError, import_into, read_share_link};
use es_sandbox::scenario::SHIPPED;
use es_sandbox::write_side::NewEvent;
use es_sandbox::{Domain, EventData, EventStore, MemoryStore, ReadAll, Sandbox, Scenario, shipped};
use futures::executor::block_on;

/// A small, fast, seeded random source (xorshift64*): the same seed gives the same inputs.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Pieces worth inserting: JSON syntax, edge numbers, odd text.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\n",
    b"null",
    b"true",
    b"0",
    b"-1",
    b"1e309",
    b"9007199254740993",
    b"18446744073709551616",
    b"\"\\u0000\"",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xae",
    b"{\"a\":",
    b"[[[[[[[[",
    b"\"type\":\"Deposited\"",
    b"\"amount\":-5",
    b"\"schemaVersion\":2",
    b"\"position\":1",
    b"\"version\":0",
    b"=",
    b"#share=",
    b"\r\n",
];

/// Changes an input at one to four places.
fn mutate(random: &mut Random, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=random.below(4) {
        let at = random.below(out.len() + 1);
        match random.below(8) {
            0 if !out.is_empty() => {
                let i = random.below(out.len());
                out[i] ^= 1 << random.below(8);
            }
            1 if !out.is_empty() => {
                let i = random.below(out.len());
                out[i] = random.next() as u8;
            }
            2 => {
                let token = TOKENS[random.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            3 => {
                let end = (at + random.below(64)).min(out.len());
                out.drain(at..end);
            }
            4 => {
                let end = (at + random.below(128)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = random.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            5 => out.truncate(at),
            6 => {
                let other = &corpus[random.below(corpus.len())];
                let from = random.below(other.len() + 1);
                let end = (from + random.below(256)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let digit = b'0' + random.below(10) as u8;
                if let Some(i) = out.iter().skip(at).position(u8::is_ascii_digit) {
                    out[at + i] = digit;
                }
            }
        }
    }
    out
}

/// One reader: a name, its seed inputs, and what it does with an input: `Ok(true)` taken,
/// `Ok(false)` refused with a message that says where, `Err` refused without one.
struct Reader {
    name: &'static str,
    corpus: Vec<Vec<u8>>,
    run: Run,
}

/// What a reader does with one input.
type Run = Box<dyn Fn(&[u8]) -> Result<bool, String>>;

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Refusals must name where: every problem has a place and a message.
fn located(error: &ImportError) -> Result<bool, String> {
    match error {
        ImportError::Problems { problems, .. } => {
            if problems.is_empty()
                || problems
                    .iter()
                    .any(|p| p.at.is_empty() || p.message.is_empty())
            {
                return Err(format!("a refusal that does not say where: {error:?}"));
            }
            Ok(false)
        }
        _ if error.to_string().len() > 10 => Ok(false),
        _ => Err(format!("a refusal without a message: {error:?}")),
    }
}

/// Reads a file, and imports what reads into a memory store.
fn read_and_import(format: Format, domains: &[Rc<Domain>], bytes: &[u8]) -> Result<bool, String> {
    let _ = interchange::scenario_named(format, bytes);
    match interchange::read(format, bytes) {
        Err(error) => located(&error),
        Ok(exchange) => {
            let domain = &domains[bytes.len() % domains.len()];
            said(block_on(import_into(
                &MemoryStore::new(),
                MemoryStore::new(),
                Rc::clone(domain),
                &exchange,
                0,
            )))
        }
    }
}

/// Taken, or refused with a message that says something.
fn said<T, E: std::fmt::Display + std::fmt::Debug>(result: Result<T, E>) -> Result<bool, String> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.to_string().len() < 10 => {
            Err(format!("a refusal without a message: {error:?}"))
        }
        Err(_) => Ok(false),
    }
}

/// Share link data for a payload (the link's JSON, mutated), as the page writes links.
fn link_of(payload: &[u8]) -> String {
    use base64::Engine;
    let compressed = miniz_oxide::deflate::compress_to_vec(payload, 1);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed)
}

/// The JSON inside a share link.
fn share_payload(link: &str) -> Vec<u8> {
    use base64::Engine;
    let compressed = ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(link));
    ok(miniz_oxide::inflate::decompress_to_vec(&compressed).map_err(|e| format!("{e:?}")))
}

fn readers() -> Vec<Reader> {
    let mut exports = [Vec::new(), Vec::new(), Vec::new()];
    let mut scenarios = Vec::new();
    let mut links = Vec::new();
    let mut payloads = Vec::new();
    let mut fixtures = Vec::new();
    let mut domains = Vec::new();
    for name in SHIPPED {
        let scenario = ok(shipped(name));
        scenarios.push(scenario.to_json().into_bytes());
        let sandbox = ok(block_on(Sandbox::open(
            MemoryStore::new(),
            scenario.clone(),
        )));
        ok(block_on(sandbox.write().generate(20, 3, 1_700_000_000_000)));
        let events = ok(block_on(
            sandbox.store().read_all(&ReadAll::from_position(1, 10_000)),
        ));
        for (index, format) in [Format::Ndjson, Format::Kurrent, Format::CloudEvents]
            .into_iter()
            .enumerate()
        {
            exports[index].push(interchange::write(format, sandbox.domain(), &events).into_bytes());
        }
        let link = interchange::share_link(sandbox.domain(), &events).unwrap_or_default();
        payloads.push(share_payload(&link));
        links.push(link.into_bytes());
        let first = &events[0];
        let stream = ok(block_on(
            sandbox
                .store()
                .read_stream(&first.aggregate_id, es_sandbox::VersionRange::from(1)),
        ));
        let fixture = ok(interchange::fixture_of(
            sandbox.domain(),
            &stream,
            1,
            stream.len() as u64,
        ));
        fixtures.push(fixture.to_json().into_bytes());
        domains.push(Rc::new(ok(Domain::compile(scenario))));
    }
    let [ndjson, kurrent, cloud] = exports;
    // Events as `append` takes them: the stored lines without their place in the log.
    let event_json: Vec<Vec<u8>> = ndjson
        .iter()
        .map(|file| {
            let events: Vec<serde_json::Value> = String::from_utf8_lossy(file)
                .lines()
                .skip(1)
                .take(5)
                .filter_map(|line| serde_json::from_str(line).ok())
                .map(|mut event: serde_json::Value| {
                    if let Some(map) = event.as_object_mut() {
                        for field in ["position", "aggregateId", "version"] {
                            map.remove(field);
                        }
                    }
                    event
                })
                .collect();
            serde_json::Value::from(events).to_string().into_bytes()
        })
        .collect();
    let rules: Vec<Vec<u8>> = SHIPPED
        .iter()
        .flat_map(|name| {
            ok(shipped(name))
                .aggregates
                .into_iter()
                .map(|a| a.rules.to_source().into_bytes())
        })
        .collect();
    let (d1, d2, d3) = (domains.clone(), domains.clone(), domains.clone());
    let fixture_domains = domains.clone();
    vec![
        Reader {
            name: "scenario documents",
            corpus: scenarios,
            run: Box::new(|bytes| {
                said(
                    Scenario::from_json(&String::from_utf8_lossy(bytes))
                        .map_err(es_sandbox::SandboxError::from)
                        .and_then(|s| Ok(Domain::compile(s)?)),
                )
            }),
        },
        Reader {
            name: "rules",
            corpus: rules,
            run: Box::new(|bytes| {
                let mut scenario = ok(shipped("bank"));
                scenario.aggregates[0].rules = es_sandbox::scenario::ScriptText::Text(
                    String::from_utf8_lossy(bytes).into_owned(),
                );
                said(Domain::compile(scenario))
            }),
        },
        Reader {
            name: "event JSON",
            corpus: event_json,
            run: Box::new(|bytes| {
                let text = String::from_utf8_lossy(bytes);
                let _ = EventData::parse(&text);
                said(serde_json::from_str::<Vec<NewEvent>>(&text))
            }),
        },
        Reader {
            name: "share links",
            corpus: links,
            run: Box::new(
                |bytes| match read_share_link(&String::from_utf8_lossy(bytes)) {
                    Err(error) => located(&error),
                    Ok(shared) => said(Domain::compile(shared.scenario)),
                },
            ),
        },
        Reader {
            name: "share link content",
            corpus: payloads,
            run: Box::new(|bytes| match read_share_link(&link_of(bytes)) {
                Err(error) => located(&error),
                Ok(shared) => said(Domain::compile(shared.scenario)),
            }),
        },
        Reader {
            name: "NDJSON",
            corpus: ndjson,
            run: Box::new(move |bytes| read_and_import(Format::Ndjson, &d1, bytes)),
        },
        Reader {
            name: "KurrentDB",
            corpus: kurrent,
            run: Box::new(move |bytes| read_and_import(Format::Kurrent, &d2, bytes)),
        },
        Reader {
            name: "CloudEvents",
            corpus: cloud,
            run: Box::new(move |bytes| read_and_import(Format::CloudEvents, &d3, bytes)),
        },
        Reader {
            name: "fixtures",
            corpus: fixtures,
            run: Box::new(move |bytes| match Fixture::from_json(bytes) {
                Err(error) => located(&error),
                Ok(fixture) => {
                    for domain in &fixture_domains {
                        said(fixture.run(domain))?;
                    }
                    Ok(true)
                }
            }),
        },
    ]
}

/// Feeds `inputs` mutated inputs to every reader; returns a line per reader, or the failures.
fn fuzz(inputs: usize, seed: u64) -> Result<Vec<String>, Vec<String>> {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for reader in readers() {
        let started = Instant::now();
        let mut random = Random(seed ^ 0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut refused, mut panicked) = (0usize, 0usize, 0usize);
        for index in 0..inputs {
            let base = &reader.corpus[index % reader.corpus.len()];
            let input = if index < reader.corpus.len() {
                base.clone()
            } else {
                mutate(&mut random, base, &reader.corpus)
            };
            match catch_unwind(AssertUnwindSafe(|| (reader.run)(&input))) {
                Ok(Ok(true)) => taken += 1,
                Ok(Ok(false)) => refused += 1,
                Ok(Err(message)) => failures.push(format!("{}: {message}", reader.name)),
                Err(_) => {
                    panicked += 1;
                    failures.push(format!(
                        "{} panicked on input {index}: {:?}",
                        reader.name,
                        String::from_utf8_lossy(&input)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    ));
                }
            }
            if failures.len() > 10 {
                return Err(failures);
            }
        }
        report.push(format!(
            "{:<20} {inputs:>9} inputs: {taken:>8} taken, {refused:>8} refused with a message, {panicked} panicked, {:.1} s",
            reader.name,
            started.elapsed().as_secs_f64()
        ));
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(failures)
    }
}

#[test]
fn every_reader_survives_mutated_real_files() {
    std::panic::set_hook(Box::new(|_| {}));
    let result = fuzz(1_500, 1);
    let _ = std::panic::take_hook();
    if let Err(failures) = result {
        panic!("{}", failures.join("\n"));
    }
}

/// `scripts/fuzz`: FUZZ_INPUTS (default 1,000,000) inputs per reader, FUZZ_SEED (default 1).
#[test]
#[ignore = "long: run by scripts/fuzz"]
fn fuzz_every_reader() {
    let inputs = std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    std::panic::set_hook(Box::new(|_| {}));
    let result = fuzz(inputs, seed);
    let _ = std::panic::take_hook();
    match result {
        Ok(report) => println!("fuzz (seed {seed}):\n{}", report.join("\n")),
        Err(failures) => panic!("{}", failures.join("\n")),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, not just mutated files: every reader takes them or says where it fails.
    #[test]
    fn every_reader_survives_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        for reader in readers_once().iter() {
            let outcome = (reader.run)(&bytes);
            proptest::prop_assert!(outcome.is_ok(), "{}: {:?}", reader.name, outcome);
        }
    }
}

thread_local! {
    /// The readers, built once per test thread (they compile the shipped scenarios).
    static READERS: Rc<Vec<Reader>> = Rc::new(readers());
}

fn readers_once() -> Rc<Vec<Reader>> {
    READERS.with(Rc::clone)
}
