#!/usr/bin/env node
'use strict';
// The CLI is compiled TypeScript (npm ci builds it through the "prepare" script).
require('../dist/cli/main.js');
