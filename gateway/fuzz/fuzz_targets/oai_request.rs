//! Input: an OAI-PMH query string (verbs, arguments, dates, resumption tokens), answered by
//! a repository of one item: argument checks, date parsing and token decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use olive_gateway::model::{Catalog, Disk, Hardware, Item, ItemMeta, Machine, MachineSource, PortalSettings};
use olive_gateway::portal::oai::{Endpoint, Repository};

fuzz_target!(|data: &[u8]| {
    let item = Item {
        id: "doom".into(),
        meta: ItemMeta::titled("Doom"),
        machine: MachineSource::Local(Machine::new(Hardware::new(64, 1), Disk::File("/x".into()))),
        access: Default::default(),
    };
    let settings = PortalSettings { page_size: 1, ..PortalSettings::default() };
    let repo = Repository::new(&Catalog::new(vec![item]), settings, std::time::SystemTime::UNIX_EPOCH.into());
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let at = Endpoint { site: "https://olive.example.org".into() };
    let _ = repo.respond(&at, &pairs, std::time::SystemTime::UNIX_EPOCH.into());
});
