//! Writes the card's certificates as PEM on stdout and their holder summary on
//! stderr: `cargo run -p cps-card --example read_certs [READER] > certs.pem`.

use cps_card::pcsc::{ConnectOptions, Disposition, PcscContext, ReaderSelector};
use cps_card::{CardKind, CpsCard};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = PcscContext::establish()?;
    let selector = match std::env::args().nth(1) {
        Some(reader) => ReaderSelector::parse(&reader),
        None => ReaderSelector::holding_card(|atr| CardKind::from_atr(atr).generation().is_some()),
    };
    let reader = ctx.select_reader(&selector)?;
    let mut transport = ctx.connect(&reader.name, ConnectOptions::default())?;
    let certs = transport.transaction(|txn| -> Result<_, Box<dyn std::error::Error>> {
        Ok(CpsCard::open(txn)?.certificates()?)
    });
    transport.disconnect(Disposition::Leave)?;
    for c in certs? {
        eprintln!("{:?}: {} — {}", c.which, c.label, c.certificate.subject());
        if let Ok(holder) = c.certificate.holder() {
            eprintln!("  {}", holder.summary_en());
        }
        print!("{}", c.certificate.to_pem());
    }
    Ok(())
}
