#!/usr/bin/env node
// Converts the whole force-app source tree to Metadata API format offline with
// Salesforce's own library (@salesforce/source-deploy-retrieve, the one `sf`
// deploys with). That catches malformed XML, a missing -meta.xml, an unknown
// metadata type or a bundle the registry cannot read, without an org.
//
// It also keeps manifest/package.xml true to the source: the manifest is the
// one SDR derives from force-app. `node scripts/convert-check.js --write`
// rewrites it; without --write a stale manifest fails the check.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { ComponentSet, MetadataConverter } = require('@salesforce/source-deploy-retrieve');

const root = path.resolve(__dirname, '..');
const source = path.join(root, 'force-app');
const manifestPath = path.join(root, 'manifest', 'package.xml');
const apiVersion = JSON.parse(fs.readFileSync(path.join(root, 'sfdx-project.json'), 'utf8')).sourceApiVersion;

async function main() {
    const write = process.argv.includes('--write');
    const set = ComponentSet.fromSource(source);
    set.sourceApiVersion = apiVersion;
    set.apiVersion = apiVersion;
    const components = set.getSourceComponents().toArray();
    if (components.length === 0) throw new Error(`no components found under ${source}`);

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-mdapi-'));
    try {
        const result = await new MetadataConverter().convert(set, 'metadata', {
            type: 'directory',
            outputDirectory: out,
            genUniqueDir: false
        });
        if (!result || !fs.existsSync(path.join(out, 'package.xml'))) {
            throw new Error('conversion produced no package.xml');
        }
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }

    const byType = new Map();
    for (const c of components) byType.set(c.type.name, (byType.get(c.type.name) || 0) + 1);
    const summary = [...byType.entries()].sort().map(([t, n]) => `${t} ${n}`).join(', ');

    const want = await set.getPackageXml(4);
    const have = fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath, 'utf8') : '';
    if (want.trim() !== have.trim()) {
        if (!write) {
            console.error(`manifest/package.xml is stale; run: npm run manifest\n--- want\n${want}`);
            process.exitCode = 1;
            return;
        }
        fs.writeFileSync(manifestPath, want);
        console.log('manifest/package.xml rewritten');
    }
    console.log(`converted ${components.length} components to Metadata API format (${summary})`);
}

main().catch((err) => {
    console.error(`metadata conversion failed: ${err.message}`);
    process.exitCode = 1;
});
