#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// A webhook receiver for tests: verifies every request with npm's
// standardwebhooks (the reference implementation of Standard Webhooks) and
// appends one JSON line per request to OUT:
//   {"id", "type", "seq", "verified": true}        a verified event
//   {"error": "...", "verified": false}            a rejected request (401)
//
//   node webhook_receiver.js PORT SECRET OUT [PORTFILE]
// PORT 0 picks a free port; PORTFILE then receives it.  SECRET "-" accepts
// unsigned requests (recorded with "verified": false).  Stops on SIGTERM.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { Webhook } = require(path.join(__dirname, 'node', 'node_modules', 'standardwebhooks'));

const [port, secret, out, portFile] = process.argv.slice(2);
if (port === undefined || secret === undefined || out === undefined) {
        console.error('usage: webhook_receiver.js PORT SECRET OUT [PORTFILE]');
        process.exit(2);
}
const wh = secret === '-' ? null : new Webhook(secret);

function record(obj) {
        fs.appendFileSync(out, JSON.stringify(obj) + '\n');
}

const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
                const body = Buffer.concat(chunks).toString('utf8');
                let event;
                try {
                        if (wh !== null) {
                                event = wh.verify(body, req.headers);
                        } else {
                                event = JSON.parse(body);
                        }
                } catch (e) {
                        record({ error: String(e && e.message ? e.message : e), verified: false });
                        res.writeHead(401, { 'Content-Type': 'text/plain' });
                        res.end('bad signature\n');
                        return;
                }
                const seq = Number(String(event.id).split('.').pop());
                record({
                        id: event.id,
                        webhook_id: req.headers['webhook-id'],
                        type: event.type,
                        seq: seq,
                        verified: wh !== null,
                        lines: event.data && event.data.lines ? event.data.lines.length : 0,
                });
                res.writeHead(204);
                res.end();
        });
});

server.listen(Number(port), '127.0.0.1', () => {
        if (portFile !== undefined) {
                fs.writeFileSync(portFile + '.tmp', String(server.address().port));
                fs.renameSync(portFile + '.tmp', portFile);
        }
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
