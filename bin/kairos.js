#!/usr/bin/env node
// Thin launcher: the agent and CLI are compiled to dist/ by `npm install` (prepare).
import '../dist/cli/main.js';
