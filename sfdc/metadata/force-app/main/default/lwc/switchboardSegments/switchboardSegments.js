// SMS segment counting for the composer: the same rules as the sidecar's
// twilio/segments.go (twilio ref §8), checked against the same vectors
// (twilio/testdata/segments.json). One character outside GSM 03.38 makes
// the whole message UCS-2; a lone message holds 160 septets or 70 UTF-16
// units, each part of a longer one 153 or 67 (the rest is the UDH); an
// escape pair or a surrogate pair never straddles two parts.

const GSM_BASIC =
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = '\f^{}\\[~]|€';

const SEPTETS = new Map();
for (const ch of GSM_BASIC) SEPTETS.set(ch, 1);
for (const ch of GSM_EXTENSION) SEPTETS.set(ch, 2);

export const GSM7 = 'GSM-7';
export const UCS2 = 'UCS-2';

/**
 * @param {string} body
 * @returns {{encoding: string, units: number, segments: number}}
 */
export function countSegments(body) {
    // for…of walks code points, as Go's range over a string walks runes.
    const chars = [...(body || '')];
    const gsm = chars.every((ch) => SEPTETS.has(ch));
    const unit = gsm ? (ch) => SEPTETS.get(ch) : (ch) => ch.length;
    const single = gsm ? 160 : 70;
    const multi = gsm ? 153 : 67;
    const units = chars.reduce((n, ch) => n + unit(ch), 0);
    if (units <= single) {
        return { encoding: gsm ? GSM7 : UCS2, units, segments: 1 };
    }
    let segments = 1;
    let current = 0;
    for (const ch of chars) {
        const u = unit(ch);
        if (current + u > multi) {
            segments++;
            current = 0;
        }
        current += u;
    }
    return { encoding: gsm ? GSM7 : UCS2, units, segments };
}

/** Characters as the sidecar counts them against Max_Message_Length__c (runes). */
export function characterCount(body) {
    return [...(body || '')].length;
}
