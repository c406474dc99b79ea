//! Where in the file an error is: the line of a byte offset, and the field path of what
//! sits there (`item[1].machine.vcpus`), read from toml's own spanned document.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && (offset < span.end || span.is_empty() && offset == span.start)
}

/// What covers an offset: the field path, and whether it names a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub path: String,
    pub table: bool,
}

/// The deepest key whose key or value covers `offset` (a table's span is its header, so
/// an error reported at a header names that table).
pub(crate) fn path_at(doc: &DeTable<'_>, offset: usize) -> Option<Found> {
    for (key, value) in doc.iter() {
        let name = key.get_ref().as_ref();
        if let Some(inner) = value_path(value, offset) {
            return Some(Found {
                path: join(name, &inner.path),
                table: inner.table,
            });
        }
        if covers(&key.span(), offset) || covers(&value.span(), offset) {
            return Some(Found {
                path: name.to_owned(),
                table: matches!(value.get_ref(), DeValue::Table(_)),
            });
        }
    }
    None
}

/// What inside `value` (relative to it) covers `offset`: `.x` for a field of a table,
/// `[2]` for an array's third element, `[2].x` for a field of it.
fn value_path(value: &Spanned<DeValue<'_>>, offset: usize) -> Option<Found> {
    match value.get_ref() {
        DeValue::Table(t) => path_at(t, offset).map(|f| Found {
            path: format!(".{}", f.path),
            ..f
        }),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let inner = value_path(item, offset).or_else(|| {
                covers(&item.span(), offset).then(|| Found {
                    path: String::new(),
                    table: matches!(item.get_ref(), DeValue::Table(_)),
                })
            })?;
            Some(Found {
                path: format!("[{i}]{}", inner.path),
                ..inner
            })
        }),
        _ => None,
    }
}

fn join(name: &str, inner: &str) -> String {
    format!("{name}{inner}")
}

/// serde names the culprit of a missing field only in its message; the span is the
/// enclosing table's.
pub(crate) fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// `table.field`, or `field` when no table was found.
pub(crate) fn child(table: Option<Found>, field: &str) -> String {
    match table {
        Some(Found { path, table: true }) => format!("{path}.{field}"),
        _ => field.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "a = 1\n[t]\nb = 2\n[[item]]\nid = \"x\"\n[[item]]\nid = \"y\"\n[item.m]\nc = 3\n";

    #[test]
    fn paths_of_offsets() {
        let (doc, errors) = DeTable::parse_recoverable(DOC);
        assert!(errors.is_empty());
        let doc = doc.into_inner();
        let at = |needle: &str| path_at(&doc, DOC.find(needle).unwrap()).map(|f| f.path);
        assert_eq!(at("a =").as_deref(), Some("a"));
        assert_eq!(at("b =").as_deref(), Some("t.b"));
        assert_eq!(at("\"y\"").as_deref(), Some("item[1].id"));
        assert_eq!(at("c = 3").as_deref(), Some("item[1].m.c"));
        assert_eq!(at("[item.m]").as_deref(), Some("item[1].m"));
        let m = path_at(&doc, DOC.find("[item.m]").unwrap());
        assert_eq!(child(m, "disk"), "item[1].m.disk");
        assert_eq!(child(path_at(&doc, 0), "secret_key"), "secret_key");
        assert_eq!(line_of(DOC, DOC.find("c = 3").unwrap()), 9);
        assert_eq!(missing_field("missing field `disk`"), Some("disk"));
    }
}
