'use strict';
// faye 1.4.3 as an independent Bayeux server for sfdc/streaming_faye_test.go
// (reference/dependencies.md §4). It mounts Bayeux at a Salesforce-like path,
// insists on an Authorization header (any Bearer/OAuth token), sets a
// BAYEUX_BROWSER cookie like Salesforce and counts requests that fail to send
// it back, and offers test hooks:
//   GET /publish?channel=/topic/X&n=N&type=created  publish N PushTopic-shaped
//       events server-side, one after the other (faye may reorder concurrent
//       publishes), with per-channel replay ids; answers {"first":a,"last":b}
//   GET /stats   counters as JSON
// Usage: node server.js PORT [HOLD_SECONDS]
const http = require('http');
const crypto = require('crypto');
const faye = require('faye');

const port = parseInt(process.argv[2] || '0', 10);
const hold = parseFloat(process.argv[3] || '2');
const mount = '/cometd/62.0';

const stats = { handshakes: 0, subscribes: 0, connects: 0, disconnects: 0,
                unauthorized: 0, missingCookie: 0, replayExt: 0, published: 0 };
const replayIds = {};

const bayeux = new faye.NodeAdapter({ mount, timeout: hold });

bayeux.addExtension({
  incoming(message, request, callback) {
    if (request && message.channel.startsWith('/meta/')) {
      const auth = (request.headers && request.headers.authorization) || '';
      if (!/^(Bearer|OAuth)\s+\S+/i.test(auth)) {
        stats.unauthorized++;
        message.error = '401::Authentication invalid';
        return callback(message);
      }
      const cookie = (request.headers && request.headers.cookie) || '';
      if (message.channel !== '/meta/handshake' && !/(^|;\s*)BAYEUX_BROWSER=/.test(cookie)) stats.missingCookie++;
      switch (message.channel) {
        case '/meta/handshake': stats.handshakes++; break;
        case '/meta/connect': stats.connects++; break;
        case '/meta/disconnect': stats.disconnects++; break;
        case '/meta/subscribe':
          stats.subscribes++;
          if (message.ext && message.ext.replay) stats.replayExt++;
          break;
      }
    }
    callback(message);
  },
});

function publish(channel, n, type, res) {
  const client = bayeux.getClient();
  let first = 0, last = 0, i = 0;
  const step = () => {
    if (i++ >= n) {
      res.setHeader('Content-Type', 'application/json');
      return res.end(JSON.stringify({ first, last }));
    }
    const id = (replayIds[channel] = (replayIds[channel] || 0) + 1);
    if (!first) first = id;
    last = id;
    const data = {
      event: { createdDate: new Date().toISOString(), replayId: id, type },
      sobject: { Id: '00T' + String(id).padStart(15, '0'), Message_Type__c: 'Outbound', Message_Status__c: 'Pending' },
    };
    stats.published++;
    client.publish(channel, data).then(step, (err) => { res.statusCode = 500; res.end(String(err && err.message)); });
  };
  step();
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  if (u.pathname === '/publish') {
    return publish(u.searchParams.get('channel') || '/topic/Test',
                   parseInt(u.searchParams.get('n') || '1', 10),
                   u.searchParams.get('type') || 'created', res);
  }
  if (u.pathname === '/stats') {
    res.setHeader('Content-Type', 'application/json');
    return res.end(JSON.stringify(stats));
  }
  res.statusCode = 404;
  res.end();
});

bayeux.attach(server);

// Registered after attach, which wraps the listeners present then: set the
// session cookie, as Salesforce sets BAYEUX_BROWSER, before faye writes its
// answer (writeHead merges headers set earlier).
server.prependListener('request', (req, res) => {
  if (req.url.startsWith(mount) && !/(^|;\s*)BAYEUX_BROWSER=/.test(req.headers.cookie || '')) {
    res.setHeader('Set-Cookie', 'BAYEUX_BROWSER=' + crypto.randomBytes(8).toString('hex') + '; Path=/');
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log('listening http://127.0.0.1:' + server.address().port + mount);
});
