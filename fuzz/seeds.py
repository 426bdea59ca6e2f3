#!/usr/bin/env python3
"""Writes the seed corpus: real byte strings from the CPS card reference and the
middleware APDU flows (shared/docs). Run from fuzz/: `python3 seeds.py`."""
import hashlib, os

def h(s):
    return bytes.fromhex(s.replace(' ', ''))

FCP_EF_SN = "62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00 8A 01 05"
DF_AID = "E8 28 BD 08 0F 80 25 00 00 01 FF 00 10"
FCP_DF = "62 2D 82 01 38 83 02 00 01 84 0D " + DF_AID + " 8A 01 05 A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00"
PIN_SDO = "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00"
PUK_SDO = "70 1A BF 81 02 16 A0 14 9A 01 0A 9B 01 0A 9D 02 00 64 A1 08 8C 06 F3 FF 00 FF FF 00"
EF_DIR = ("61 32 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20 50 0A " + "CPX IAS CL".encode().hex()
          + " 51 04 3F 00 00 02 73 0F 4F 0D " + DF_AID
          + " 61 2F 4F 0D " + DF_AID + " 50 07 " + "CPX IAS".encode().hex()
          + " 51 04 3F 00 00 01 73 0F 4F 0D " + DF_AID)
ODF = ("A0 0A 30 08 04 06 3F 00 00 01 70 02 A4 0A 30 08 04 06 3F 00 00 01 70 04 "
       "A7 0A 30 08 04 06 3F 00 00 01 70 05 A8 0A 30 08 04 06 3F 00 00 01 70 01")
AODF_PIN = ("30 3C 30 15 0C 0C " + "Code porteur".encode().hex() + " 03 02 06 C0 04 01 02 30 03 04 01 01 "
            "A1 1E 30 1C 03 02 02 0C 0A 01 01 02 01 04 02 01 08 02 01 08 80 01 01 04 01 FF 30 04 04 02 3F 00")
PRKDF_SIG = ("30 46 30 15 0C 0C " + "CPS_PRIV_SIG".encode().hex() + " 03 02 07 80 04 01 01 30 1D 04 0E "
             + DF_AID + " 01 03 03 06 00 40 03 02 03 B8 02 02 00 81 A1 0E 30 0C 30 06 04 04 3F 00 00 01 02 02 08 00")
EF_SN = "5A 0A 80 25 00 00 01 99 21 38 45 0F"
CPS2TER_FCI = "85 05 00 20 40 10 04"

SEEDS = {
    "command_decode": [
        "00 A4 09 04 04 3F 00 D0 03", "00 C0 00 00 27", "00 B0 00 00 0C", "00 B0 00 E7 E7",
        "00 B0 9C 00 C0", "00 A4 02 0C 02 3F 00", "00 A4 04 04 0D " + DF_AID,
        "00 A4 04 00 08 80 25 00 00 01 FF 01 00", "00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80",
        "00 CB 3F FF 0B 4D 09 70 07 BF 81 01 03 7F 41 80", "00 20 00 01 00",
        "00 20 00 01 08 31 32 33 34 FF FF FF FF", "00 20 00 02 08 31 32 33 34 35 36 37 38",
        "00 24 00 01 10 31 32 33 34 FF FF FF FF 35 36 37 38 FF FF FF FF",
        "00 2C 02 01 08 31 32 33 34 FF FF FF FF", "00 22 41 A4 06 80 01 02 84 01 82",
        "00 88 00 00 05 68 65 6C 6C 6F", "00 2A 9E 9A 00", "00 2A 80 86 02 AB CD",
        "10 2A 80 86 FF 81" + " 00" * 254, "01 A4 04 0C 08 80 25 00 00 01 FF 01 00",
        "01 A4 08 00 02 D0 03", "01 22 41 B8 03 83 01 20", "01 2C 03 80", "A0 A4 00 00 02 3F 00",
        "A0 C0 00 00 07", "A0 B0 00 00 20", "00 B0 00 00 00 01 00", "00 2A 80 86 00 01 00" + " 42" * 256,
    ],
    "response_decode": [
        EF_SN + " 90 00", PIN_SDO + " 90 00", PUK_SDO + " 90 00", FCP_EF_SN + " 90 00", "61 27", "61 00",
        "6C 0C", "63 C2", "69 83", "69 84", "6A 82", "68 81", "9F 07", CPS2TER_FCI + " 90 00", "98 04", "94 04",
    ],
    "atr": [
        "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00",
        "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
        "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44",
        "3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44",
        "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00",
        "3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00",
        "3F 65 25 00 2C 09 69 90 00", "3B 75 13 00 00 47 09 EA 90 00", "3B 75 13 00 00 45 09 FA 90 00",
    ],
    "tlv": [PIN_SDO, PUK_SDO, EF_DIR, ODF, AODF_PIN, PRKDF_SIG, EF_SN, FCP_EF_SN, FCP_DF, CPS2TER_FCI,
            "EC 00", "4D 08 70 06 BF 81 01 02 A0 80"],
    "fcp": [FCP_EF_SN, FCP_DF, "6F 0B 83 02 D0 03 80 02 00 0C 82 01 01", "62 00"],
}

for target, seeds in SEEDS.items():
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        b = h(s)
        with open(os.path.join(d, hashlib.sha1(b).hexdigest()), "wb") as f:
            f.write(b)
    print(target, len(seeds))
