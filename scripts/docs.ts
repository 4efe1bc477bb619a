// `npm run docs`: regenerates the reference pages generated from the code (src/docs/reference.ts).
import { writeFileSync } from 'node:fs';
import { apiReference, configurationReference } from '../src/docs/reference.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationReference());
writeFileSync(new URL('../docs/api.md', import.meta.url), apiReference());
console.log('docs: wrote docs/configuration.md and docs/api.md');
