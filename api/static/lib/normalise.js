// Case-number normal form (docs/verification.md section 2.4), the same rule as ledger/records.py:
// NFKC, delete every White_Space code point, refuse Cc, Cf, Cs, Co, Cn; empty refused.
const WHITE_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
const REFUSED = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

export function normaliseCaseNumber(text) {
  const out = [...text.normalize("NFKC")].filter((c) => !WHITE_SPACE.has(c.codePointAt(0)));
  const bad = out.findIndex((c) => REFUSED.test(c));
  if (bad >= 0) {
    throw new Error(`case number has an invisible or unassigned character (U+${out[bad].codePointAt(0).toString(16)
      .toUpperCase().padStart(4, "0")}) at position ${bad}`);
  }
  if (out.length === 0) throw new Error("case number is empty");
  return out.join("");
}
