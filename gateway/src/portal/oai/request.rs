//! An OAI-PMH request's arguments, checked the way the protocol (section 3.1, 4) asks:
//! one verb, only its own arguments, each at most once, a resumption token exclusive of the
//! others, dates in the repository's granularity.

use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// The protocol's error conditions (section 3.6), each answered with its code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OaiError {
    #[error("{0}")]
    BadVerb(String),
    #[error("{0}")]
    BadArgument(String),
    #[error("the resumption token is not valid (or the collection changed since it was issued)")]
    BadResumptionToken,
    #[error("only oai_dc is disseminated")]
    CannotDisseminateFormat,
    #[error("no item has the identifier {0:?}")]
    IdDoesNotExist(String),
    #[error("no record matches the request")]
    NoRecordsMatch,
    #[error("the collection has no sets")]
    NoSetHierarchy,
}

impl OaiError {
    /// The `code` attribute of `<error>`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            OaiError::BadVerb(_) => "badVerb",
            OaiError::BadArgument(_) => "badArgument",
            OaiError::BadResumptionToken => "badResumptionToken",
            OaiError::CannotDisseminateFormat => "cannotDisseminateFormat",
            OaiError::IdDoesNotExist(_) => "idDoesNotExist",
            OaiError::NoRecordsMatch => "noRecordsMatch",
            OaiError::NoSetHierarchy => "noSetHierarchy",
        }
    }

    /// badVerb and badArgument answers must not echo the arguments (section 3.2).
    pub(crate) fn echoes_request(&self) -> bool {
        !matches!(self, OaiError::BadVerb(_) | OaiError::BadArgument(_))
    }
}

/// A date argument and how precisely it was written; `from` and `until` must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateArg {
    pub(crate) at: OffsetDateTime,
    pub(crate) day_only: bool,
}

/// The selective-harvesting arguments of ListIdentifiers and ListRecords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListArgs {
    pub(crate) from: Option<DateArg>,
    pub(crate) until: Option<DateArg>,
    pub(crate) set: Option<String>,
}

/// A list request: new, or continued from a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListStart {
    New { prefix: String, args: ListArgs },
    Resume(String),
}

/// One checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verb {
    Identify,
    ListMetadataFormats { identifier: Option<String> },
    ListSets { token: Option<String> },
    ListIdentifiers(ListStart),
    ListRecords(ListStart),
    GetRecord { identifier: String, prefix: String },
}

/// The verb and its arguments from `pairs` (query string or form body, in order).
pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Verb, OaiError> {
    let mut verbs = pairs.iter().filter(|(k, _)| k == "verb");
    let verb = match (verbs.next(), verbs.next()) {
        (None, _) => return Err(OaiError::BadVerb("the verb argument is missing".into())),
        (Some(_), Some(_)) => {
            return Err(OaiError::BadVerb("the verb argument is repeated".into()))
        }
        (Some((_, v)), None) => v.as_str(),
    };
    let allowed: &[&str] = match verb {
        "Identify" => &[],
        "ListMetadataFormats" => &["identifier"],
        "ListSets" => &["resumptionToken"],
        "ListIdentifiers" | "ListRecords" => {
            &["metadataPrefix", "from", "until", "set", "resumptionToken"]
        }
        "GetRecord" => &["identifier", "metadataPrefix"],
        other => {
            return Err(OaiError::BadVerb(format!(
                "{other:?} is not an OAI-PMH verb"
            )))
        }
    };
    let args = Args::check(pairs, allowed)?;
    Ok(match verb {
        "Identify" => Verb::Identify,
        "ListMetadataFormats" => Verb::ListMetadataFormats {
            identifier: args.get("identifier"),
        },
        "ListSets" => Verb::ListSets {
            token: args.get("resumptionToken"),
        },
        "GetRecord" => Verb::GetRecord {
            identifier: args.required("identifier")?,
            prefix: args.required("metadataPrefix")?,
        },
        list => {
            let start = list_start(&args)?;
            if list == "ListRecords" {
                Verb::ListRecords(start)
            } else {
                Verb::ListIdentifiers(start)
            }
        }
    })
}

/// The arguments other than `verb`, each known to the verb and given once.
struct Args<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Args<'a> {
    fn check(pairs: &'a [(String, String)], allowed: &[&str]) -> Result<Args<'a>, OaiError> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (k, v) in pairs.iter().filter(|(k, _)| k != "verb") {
            if !allowed.contains(&k.as_str()) {
                return Err(OaiError::BadArgument(format!(
                    "{k:?} is not an argument of this verb"
                )));
            }
            if seen.iter().any(|(s, _)| s == k) {
                return Err(OaiError::BadArgument(format!("{k:?} is repeated")));
            }
            seen.push((k, v));
        }
        Ok(Args(seen))
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }

    fn required(&self, key: &str) -> Result<String, OaiError> {
        self.get(key)
            .ok_or_else(|| OaiError::BadArgument(format!("{key:?} is required")))
    }
}

fn list_start(args: &Args<'_>) -> Result<ListStart, OaiError> {
    if let Some(token) = args.get("resumptionToken") {
        if args.0.len() > 1 {
            return Err(OaiError::BadArgument(
                "resumptionToken is an exclusive argument".into(),
            ));
        }
        return Ok(ListStart::Resume(token));
    }
    let prefix = args.required("metadataPrefix")?;
    let from = args.get("from").map(|d| parse_date(&d)).transpose()?;
    let until = args.get("until").map(|d| parse_date(&d)).transpose()?;
    if let (Some(f), Some(u)) = (from, until) {
        if f.day_only != u.day_only {
            return Err(OaiError::BadArgument(
                "from and until must have the same granularity".into(),
            ));
        }
        if f.at > u.at {
            return Err(OaiError::BadArgument("from is later than until".into()));
        }
    }
    Ok(ListStart::New {
        prefix,
        args: ListArgs {
            from,
            until,
            set: args.get("set"),
        },
    })
}

/// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ` (the repository's granularity is seconds).
pub(crate) fn parse_date(s: &str) -> Result<DateArg, OaiError> {
    let bad = || {
        OaiError::BadArgument(format!(
            "{s:?} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
        ))
    };
    if s.len() == 10 {
        let d = Date::parse(s, format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
        return Ok(DateArg {
            at: PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc(),
            day_only: true,
        });
    }
    let t = PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .map_err(|_| bad())?;
    Ok(DateArg {
        at: t.assume_utc(),
        day_only: false,
    })
}

/// The protocol's UTC datestamp, to the second.
pub(crate) fn format_datestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(s.as_bytes()).into_owned().collect()
    }

    #[test]
    fn verbs_and_their_arguments() {
        assert_eq!(parse(&q("verb=Identify")), Ok(Verb::Identify));
        assert_eq!(parse(&q("")).unwrap_err().code(), "badVerb");
        assert_eq!(parse(&q("verb=Nope")).unwrap_err().code(), "badVerb");
        assert_eq!(
            parse(&q("verb=Identify&verb=Identify")).unwrap_err().code(),
            "badVerb"
        );
        assert_eq!(
            parse(&q("verb=Identify&x=1")).unwrap_err().code(),
            "badArgument"
        );
        assert_eq!(
            parse(&q("verb=GetRecord&identifier=a")).unwrap_err().code(),
            "badArgument"
        );
        assert_eq!(
            parse(&q("verb=ListRecords&metadataPrefix=oai_dc&set=a&set=b"))
                .unwrap_err()
                .code(),
            "badArgument"
        );
        assert_eq!(
            parse(&q(
                "verb=ListRecords&resumptionToken=t&metadataPrefix=oai_dc"
            ))
            .unwrap_err()
            .code(),
            "badArgument"
        );
        assert_eq!(
            parse(&q("verb=ListIdentifiers&resumptionToken=t")),
            Ok(Verb::ListIdentifiers(ListStart::Resume("t".into())))
        );
    }

    #[test]
    fn dates_have_one_granularity_and_an_order() {
        let ok = parse(&q(
            "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2021-01-01",
        ));
        assert!(ok.is_ok(), "{ok:?}");
        for bad in [
            "from=2020-01-01&until=2021-01-01T00:00:00Z",
            "from=2021-01-01&until=2020-01-01",
            "from=2020-13-01",
            "from=yesterday",
            "from=2020-01-01T00:00:00",
        ] {
            let r = parse(&q(&format!("verb=ListRecords&metadataPrefix=oai_dc&{bad}")));
            assert_eq!(r.unwrap_err().code(), "badArgument", "{bad}");
        }
        let t = parse_date("2026-12-02T05:55:42Z").unwrap();
        assert_eq!(format_datestamp(t.at), "2026-12-02T05:55:42Z");
    }
}
