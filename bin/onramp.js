#!/usr/bin/env node
// The root package's bin: the CLI lives in the cli workspace, built to cli/dist.
import '../cli/dist/main.js';
