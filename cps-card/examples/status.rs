//! Prints the card's identity and its PIN/PUK counters (no try spent), from the
//! reader holding a CPS: `cargo run -p cps-card --example status [READER]`.

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
    let result = transport.transaction(|txn| -> Result<(), Box<dyn std::error::Error>> {
        let mut card = CpsCard::open(txn)?;
        println!("reader:  {}", reader.name);
        println!("card:    {} (serial {})", card.kind(), card.serial().serial);
        let status = card.pin_status()?;
        println!(
            "PIN:     {}/{} ({:?})",
            status.pin.tries_left, status.pin.tries_max, status.pin.state
        );
        println!(
            "PUK:     {}/{} ({:?})",
            status.puk.tries_left, status.puk.tries_max, status.puk.state
        );
        println!("APDUs:   {}", card.apdus_sent());
        Ok(())
    });
    // Read-only work: leave the card as it is for other applications.
    transport.disconnect(Disposition::Leave)?;
    result
}
