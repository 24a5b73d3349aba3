#!/usr/bin/env node
'use strict';
require('../dist/src/cli/main.js').main(process.argv).catch((err) => {
  process.stderr.write(`ringstore: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
