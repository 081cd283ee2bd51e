#!/usr/bin/env node
// The root package's bin: the CLI lives in the cli workspace, built to cli/dist.
// The worker's heap cap has to be on the node command line, so it is settled before the CLI loads.
import { reexecWithWorkerHeap } from '../cli/dist/runtime/heap.js';

reexecWithWorkerHeap();
await import('../cli/dist/main.js');
