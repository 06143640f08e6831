// Builds the browser bundle of the Lightning Web Components: the SFDX
// lwc/ folder compiled with the open-source LWC compiler, with
// lightning-base-components and the platform stand-ins of browser/modules
// (lightning/uiRecordApi, …/graphql, …/empApi, … backed by the simulated
// org), Custom Labels resolved from *.labels-meta.xml and @salesforce/schema
// imports resolved to {objectApiName, fieldApiName}. One IIFE per bundle
// plus the SLDS stylesheet and the images it references; the Go package
// browser/ embeds browser/dist. The output depends only on the sources and
// the locked packages, so scripts/check-bundle.sh can rebuild and diff.
//
//   node scripts/build-browser.js [--out DIR] [--fixture-out DIR]
'use strict';

const fs = require('fs');
const path = require('path');
const { rollup } = require('rollup');
const lwc = require('@lwc/rollup-plugin').default || require('@lwc/rollup-plugin');
const replace = require('@rollup/plugin-replace').default || require('@rollup/plugin-replace');

const root = path.join(__dirname, '..');
const forceApp = path.join(root, 'force-app', 'main', 'default');
const browserDir = path.join(root, 'browser');
const slds = path.join(root, 'node_modules', '@salesforce-ux', 'design-system', 'assets');

function arg(name, dflt) {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : dflt;
}

// components lists the LWC bundles of an SFDX-style folder (<name>/<name>.js).
function components(dir) {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs
        .readdirSync(dir)
        .filter((n) => !n.startsWith('_') && !n.startsWith('.') && fs.existsSync(path.join(dir, n, n + '.js')))
        .sort()
        .map((n) => ({ name: n, path: path.join(dir, n, n + '.js') }));
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unxml(s) {
    return s.replace(/&(amp|lt|gt|quot|apos);/g, (m, e) => entities[e]);
}

// labels reads every <labels> of the *.labels-meta.xml files in dirs.
function labels(dirs) {
    const out = {};
    dirs.filter((d) => fs.existsSync(d)).forEach((d) => {
        fs.readdirSync(d)
            .filter((f) => f.endsWith('.labels-meta.xml'))
            .sort()
            .forEach((f) => {
                const xml = fs.readFileSync(path.join(d, f), 'utf8');
                for (const m of xml.matchAll(/<labels>([\s\S]*?)<\/labels>/g)) {
                    const name = /<fullName>([\s\S]*?)<\/fullName>/.exec(m[1]);
                    const value = /<value>([\s\S]*?)<\/value>/.exec(m[1]);
                    if (name && value) {
                        out[unxml(name[1].trim())] = unxml(value[1]);
                    }
                }
            });
    });
    return out;
}

// salesforceModules resolves the project's @salesforce/* scoped imports at
// build time, as the platform's compiler does: Custom Labels (c.*) to their
// text, schema references to {objectApiName, fieldApiName}, the user Id to
// the page's. The base components' own @salesforce/* imports (their
// labels, gates, i18n) resolve through lightning-base-components' module
// map. An unknown label fails the build.
function salesforceModules(labelMap) {
    const prefix = '\0sf:';
    const ours = /^@salesforce\/(label\/c\.|schema\/|user\/)/;
    return {
        name: 'salesforce-scoped-modules',
        resolveId(id) {
            return ours.test(id) ? prefix + id : null;
        },
        load(id) {
            if (!id.startsWith(prefix)) {
                return null;
            }
            const spec = id.slice(prefix.length);
            let m;
            if ((m = /^@salesforce\/label\/c\.(.+)$/.exec(spec))) {
                if (!(m[1] in labelMap)) {
                    this.error('unknown Custom Label c.' + m[1] + ' (no <labels> with that fullName in force-app/main/default/labels)');
                }
                return 'export default ' + JSON.stringify(labelMap[m[1]]) + ';';
            }
            if ((m = /^@salesforce\/schema\/([^.]+)(?:\.(.+))?$/.exec(spec))) {
                const ref = m[2] ? { objectApiName: m[1], fieldApiName: m[2] } : { objectApiName: m[1] };
                return 'export default ' + JSON.stringify(ref) + ';';
            }
            if (spec === '@salesforce/user/Id') {
                return 'export default (globalThis.SWITCHBOARD_USER_ID || null);';
            }
            if (spec === '@salesforce/user/isGuest') {
                return 'export default false;';
            }
            this.error(spec + ' has no browser stand-in (scripts/build-browser.js)');
            return null;
        }
    };
}

function tagOf(name) {
    return 'c-' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

// entry is the bundle's generated entry module: synthetic shadow (so the
// global SLDS stylesheet reaches into components, as on the platform), the
// page runtime, and every component under its custom element tag.
function entry(modules) {
    const id = '\0sbx:entry';
    // Service modules (switchboardUtils, switchboardChatSubscription, …)
    // have no template and no default export: they are importable, not
    // mountable.
    const list = modules.filter((c) => fs.existsSync(c.path.replace(/\.js$/, '.html')));
    const lines = ["import '@lwc/synthetic-shadow';", "import { install, mount, navigations } from 'sbx/page';"];
    list.forEach((c, i) => lines.push('import C' + i + ' from ' + JSON.stringify('c/' + c.name) + ';'));
    lines.push('const components = {' + list.map((c, i) => JSON.stringify(tagOf(c.name)) + ': C' + i).join(', ') + '};');
    lines.push('install();');
    lines.push('window.SwitchboardLWC = { components, navigations, mount: (tag, target, props) => mount(components, tag, target, props) };');
    return {
        name: 'switchboard-entry',
        resolveId: (s) => (s === 'sbx:entry' ? id : null),
        load: (s) => (s === id ? lines.join('\n') + '\n' : null)
    };
}

async function bundle(list, labelMap, outFile) {
    const warnings = {};
    const b = await rollup({
        input: 'sbx:entry',
        plugins: [
            entry(list),
            salesforceModules(labelMap),
            replace({
                preventAssignment: true,
                values: { 'process.env.NODE_ENV': JSON.stringify('production'), 'process.env.SSR': 'false', 'import.meta.env.SSR': 'false' }
            }),
            lwc({
                rootDir: root,
                // lightning-combobox calls attachInternals(); under synthetic
                // shadow the engine allows that only for components compiled
                // with this flag (otherwise: "attachInternals API is not
                // supported in synthetic shadow").
                enableSyntheticElementInternals: true,
                // lightning-datatable (the admin's tables) pulls in
                // multiColumnSortingModal, whose template uses lwc:is; the
                // compiler refuses dynamic components unless enabled (LWC1188).
                enableDynamicComponents: true,
                modules: [
                    ...list.map((c) => ({ name: 'c/' + c.name, path: c.path })),
                    { dir: path.join(browserDir, 'modules') },
                    { npm: 'lightning-base-components' }
                ]
            })
        ],
        onwarn(w) {
            if (w.code === 'UNRESOLVED_IMPORT') {
                throw new Error(w.message);
            }
            const key = (w.code || 'other') + ': ' + String(w.message).split('\n')[0];
            warnings[key] = (warnings[key] || 0) + 1;
        }
    });
    // One file: the base components import dynamically.
    const { output } = await b.generate({ format: 'iife', inlineDynamicImports: true, sourcemap: false });
    await b.close();
    fs.writeFileSync(outFile, await minify(path.basename(outFile), output[0].code));
    const size = fs.statSync(outFile).size;
    console.log(path.relative(root, outFile) + ': ' + list.length + ' components, ' + (size / 1024).toFixed(0) + ' KiB; warnings ' + JSON.stringify(warnings));
}

// minify uses the oxc minifier that rolldown ships (already in the locked
// dependency tree through sfdx-lwc-jest's vitest/vite; no new package). It
// is deterministic: the same input gives the same bytes. About a third
// smaller; most of the rest is the base components' inline SVG icons.
async function minify(name, code) {
    const { minifySync } = await import('rolldown/experimental');
    const r = minifySync(name, code, { compress: true, mangle: true });
    if (r.errors && r.errors.length) {
        throw new Error('minify ' + name + ': ' + JSON.stringify(r.errors[0]));
    }
    return r.code;
}

function copy(from, to) {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
}

// sldsAssets copies the stylesheet and the images its url()s name.
function sldsAssets(out) {
    const css = 'styles/salesforce-lightning-design-system.min.css';
    copy(path.join(slds, css), path.join(out, 'slds', css));
    const text = fs.readFileSync(path.join(slds, css), 'utf8');
    const images = new Set();
    for (const m of text.matchAll(/url\(["']?\.\.\/(images\/[^"')?#]+)/g)) {
        images.add(m[1]);
    }
    [...images].sort().forEach((img) => copy(path.join(slds, img), path.join(out, 'slds', img)));
}

async function main() {
    const out = arg('--out', path.join(browserDir, 'dist'));
    const fixtureOut = arg('--fixture-out', path.join(browserDir, 'testdata', 'fixture'));
    const appLabels = labels([path.join(forceApp, 'labels')]);
    for (const dir of [out, fixtureOut]) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
    }
    await bundle(components(path.join(forceApp, 'lwc')), appLabels, path.join(out, 'switchboard-lwc.js'));
    sldsAssets(out);
    // The fixture bundle: test-only components (browser/fixtures/c), never
    // shipped, that prove the pipeline and the stand-ins in a browser.
    const fixtureLabels = { ...appLabels, ...labels([path.join(browserDir, 'fixtures', 'labels')]) };
    await bundle(components(path.join(browserDir, 'fixtures', 'c')), fixtureLabels, path.join(fixtureOut, 'fixture-lwc.js'));
}

main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
});
