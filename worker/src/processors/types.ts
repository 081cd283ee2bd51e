import type { Job } from 'bullmq';
import type { Deps, JobName, JobPayload } from '@onramp/core';

export type Processor<N extends JobName> = (payload: JobPayload<N>, deps: Deps, job: Job) => Promise<unknown>;
