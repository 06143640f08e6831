'use strict';
// Independent peer for switchboard's signature tests: Twilio's own Node
// helper library computes and validates X-Twilio-Signature.
// stdin: JSON array of
//   {"op":"sign","token":"…","url":"…","params":{"Name":"value"|["v1","v2"]}}
//   {"op":"validate","token":"…","url":"…","params":{…},"signature":"…"}
// stdout: JSON array of {"signature":"…"} / {"valid":true|false}, same order.
const webhooks = require('twilio/lib/webhooks/webhooks');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((r) => {
    if (r.op === 'sign') {
      return { signature: webhooks.getExpectedTwilioSignature(r.token, r.url, r.params) };
    }
    if (r.op === 'validate') {
      return { valid: webhooks.validateRequest(r.token, r.signature, r.url, r.params) };
    }
    throw new Error('unknown op ' + r.op);
  });
  process.stdout.write(JSON.stringify(out));
});
