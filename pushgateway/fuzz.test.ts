import { appTarget, describeFuzzContract } from '../test/support/fuzz-contract.js';
import { MemoryStore } from './store/memory.js';

describeFuzzContract('memory store (app.request)', () => appTarget(new MemoryStore()));
