import fs from 'fs';
import path from 'path';
import { countSegments, characterCount, GSM7, UCS2 } from 'c/switchboardSegments';

// The vectors twilio/segments_test.go checks the sidecar's counter with.
const VECTORS = path.resolve(__dirname, '../../../../../../../../twilio/testdata/segments.json');

function bodyOf(parts) {
    return parts.map(([text, times]) => text.repeat(times)).join('');
}

describe('c-switchboard-segments', () => {
    const { cases } = JSON.parse(fs.readFileSync(VECTORS, 'utf8'));

    it('reads the shared vectors', () => {
        expect(cases.length).toBeGreaterThanOrEqual(19);
    });

    it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
        expect(countSegments(bodyOf(c.body))).toEqual({
            encoding: c.encoding,
            units: c.units,
            segments: c.segments
        });
    });

    it('treats a missing body as an empty one', () => {
        expect(countSegments(undefined)).toEqual({ encoding: GSM7, units: 0, segments: 1 });
        expect(countSegments(null).encoding).toBe(GSM7);
    });

    it('counts characters as code points, as the sidecar counts runes', () => {
        expect(characterCount('😜a')).toBe(2);
        expect(countSegments('😜a').encoding).toBe(UCS2);
    });
});
