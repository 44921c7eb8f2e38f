// Validates a Teams app manifest (path in argv[2]) against the JSON schema Microsoft publishes
// for its manifestVersion, as shipped inside Microsoft's npm package @microsoft/app-manifest
// (the same files as https://developer.microsoft.com/json-schemas/teams/v1.x/...). The schema
// is read from the package on disk, so nothing is fetched from the network: a missing schema
// is a failure, never a pass.
//
// The check is the one the package's AppManifestUtils.validateAgainstSchema makes (Ajv for
// draft-04, allErrors, strictTypes off, the uri/email/regex formats); it is called directly
// because the package's entry point requires fs-extra without declaring it.
//
// Prints {"ok": bool, "schema": "<file>", "errors": [...]} and exits 0 when valid, 1 when
// not, 2 on a setup problem.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const Ajv = require('ajv-draft-04');
const addFormats = require('ajv-formats');

function fail(message) {
  process.stdout.write(JSON.stringify({ ok: false, setup: message }) + '\n');
  process.exit(2);
}

const file = process.argv[2];
if (!file) fail('usage: node validate.mjs manifest.json');
const manifest = JSON.parse(readFileSync(file, 'utf8'));
const version = manifest.manifestVersion;
if (typeof version !== 'string' || !/^1\.\d+$/.test(version)) fail(`manifestVersion ${version} is not 1.x`);
const expected = `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`;
if (manifest.$schema !== expected) fail(`$schema ${manifest.$schema} is not ${expected}`);

const pkg = path.dirname(require.resolve('@microsoft/app-manifest/package.json'));
const schemaFile = path.join(pkg, 'build', 'json-schemas', 'teams', `v${version}`, 'MicrosoftTeams.schema.json');
if (!existsSync(schemaFile)) fail(`@microsoft/app-manifest has no schema for ${version}: ${schemaFile}`);
// The package cleans \a and \v escapes before parsing; do the same.
const text = readFileSync(schemaFile, 'utf8').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b');
const schema = JSON.parse(text);
if (!String(schema.$schema).includes('draft-04')) fail(`the ${version} schema is not draft-04: ${schema.$schema}`);

const ajv = new Ajv({ allErrors: true, strictTypes: false });
addFormats(ajv, ['uri', 'email', 'regex']);
const validate = ajv.compile(schema);
const ok = validate(manifest);
const errors = ok ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
process.stdout.write(JSON.stringify({ ok, schema: schemaFile, errors }) + '\n');
process.exit(ok ? 0 : 1);
