//! Resumption tokens: the position in a list and the arguments that made it, so that a
//! harvester's next request needs nothing but the token (section 3.5). A token also carries
//! a fingerprint of the collection; when the collection changed, the old token is refused
//! (`badResumptionToken`) instead of silently skipping or repeating records.

use serde::{Deserialize, Serialize};

use super::request::{parse_date, DateArg, ListArgs, OaiError};

/// What a token holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) prefix: String,
    pub(crate) args: ListArgs,
    /// Index of the next record.
    pub(crate) offset: usize,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    p: String,
    f: Option<String>,
    u: Option<String>,
    s: Option<String>,
    o: usize,
    c: String,
}

/// Longest token accepted: ours are under 200 bytes.
const MAX_TOKEN: usize = 1024;

fn date_text(d: &DateArg) -> String {
    let full = super::request::format_datestamp(d.at);
    if d.day_only {
        full[..10].to_owned()
    } else {
        full
    }
}

/// The token for `pos` in the collection with `fingerprint`.
pub(crate) fn encode(pos: &Position, fingerprint: &str) -> String {
    let wire = Wire {
        p: pos.prefix.clone(),
        f: pos.args.from.as_ref().map(date_text),
        u: pos.args.until.as_ref().map(date_text),
        s: pos.args.set.clone(),
        o: pos.offset,
        c: fingerprint.to_owned(),
    };
    let json = serde_json::to_vec(&wire).unwrap_or_default();
    data_encoding::BASE64URL_NOPAD.encode(&json)
}

/// The position `token` names, if it was issued for the collection with `fingerprint`.
pub(crate) fn decode(token: &str, fingerprint: &str) -> Result<Position, OaiError> {
    if token.len() > MAX_TOKEN {
        return Err(OaiError::BadResumptionToken);
    }
    let json = data_encoding::BASE64URL_NOPAD
        .decode(token.as_bytes())
        .map_err(|_| OaiError::BadResumptionToken)?;
    let wire: Wire = serde_json::from_slice(&json).map_err(|_| OaiError::BadResumptionToken)?;
    if wire.c != fingerprint {
        return Err(OaiError::BadResumptionToken);
    }
    let date = |d: Option<String>| {
        d.map(|d| parse_date(&d))
            .transpose()
            .map_err(|_| OaiError::BadResumptionToken)
    };
    Ok(Position {
        prefix: wire.p,
        args: ListArgs {
            from: date(wire.f)?,
            until: date(wire.u)?,
            set: wire.s,
        },
        offset: wire.o,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_knows_its_collection() {
        let pos = Position {
            prefix: "oai_dc".into(),
            args: ListArgs {
                from: Some(parse_date("2020-01-01").unwrap()),
                until: None,
                set: Some("games".into()),
            },
            offset: 2,
        };
        let t = encode(&pos, "abc");
        assert_eq!(decode(&t, "abc"), Ok(pos));
        assert_eq!(decode(&t, "abd"), Err(OaiError::BadResumptionToken));
        assert_eq!(decode("!!", "abc"), Err(OaiError::BadResumptionToken));
        assert_eq!(
            decode(&"A".repeat(5000), "abc"),
            Err(OaiError::BadResumptionToken)
        );
    }
}
